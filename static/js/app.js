/* Shared by the pages that show faces (photo, people, person, review, face): the face action
   dialog, toasts with Undo, and the refresh "ticks" after a correction. The page-specific
   keyboard shortcuts live in photo.js and review.js and use SmartGallery.typing() from here.
   Our own small script (no framework); a static file because the Content-Security-Policy
   allows no inline scripts or inline event handlers. */
(function () {
  "use strict";

  var TOAST_SECONDS = 6;
  var UNDO_TOAST_SECONDS = 15;

  function faceDialog() {
    return document.getElementById("face-dialog");
  }

  // Focus is in a text field: single-letter and arrow shortcuts belong to the field.
  function typing() {
    var active = document.activeElement;
    return !!active && (active.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName));
  }

  // A shortcut may act: no modifier, not typing, and no dialog open over the page.
  function shortcutAllowed(event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return false;
    if (typing()) return false;
    var dialog = faceDialog();
    return !(dialog && dialog.open);
  }

  window.SmartGallery = { faceDialog: faceDialog, typing: typing, shortcutAllowed: shortcutAllowed };

  // With this script, messages float above the page instead of pushing it down when a toast
  // comes in (without it they stay in the page flow, where nothing covers them).
  var messages = document.getElementById("messages");
  if (messages) messages.classList.add("messages-floating");

  // A face link loaded the action panel into the dialog: open it and focus the name field, so
  // what the user types names the face and Enter saves that name; it never lands on "Yes, <name>"
  // (which a typed name followed by Enter would confirm). The panel redrawn after an action in
  // it gets the same focus. On afterSettle, not afterSwap: htmx wires up the new panel's forms
  // while settling, and a form submitted before that (a quick Enter) would go out as a plain
  // full-page POST.
  document.body.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    var dialog = faceDialog();
    if (!target || !dialog) return;
    if (target.id === "face-panel") {
      if (!dialog.open) dialog.showModal();
    } else if (!(dialog.open && target.classList && target.classList.contains("face-panel"))) {
      return;
    }
    var panel = dialog.querySelector(".face-panel");
    if (!panel) return;
    var first = panel.querySelector("input[type=text]") || panel.querySelector("button");
    if (first) first.focus();
  });

  // Toasts: a close button, and they leave on their own after a while (longer with Undo).
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-dismiss-toast]");
    if (!button) return;
    var toast = button.closest(".toast");
    if (toast) toast.remove();
  });

  function scheduleRemoval(toast) {
    if (toast.dataset.scheduled) return;
    toast.dataset.scheduled = "1";
    var seconds = toast.hasAttribute("data-undo") ? UNDO_TOAST_SECONDS : TOAST_SECONDS;
    if (toast.classList.contains("message-error")) seconds = UNDO_TOAST_SECONDS;
    window.setTimeout(function () {
      // Never pull a toast from under the keyboard or the pointer.
      if (toast.matches(":hover") || toast.contains(document.activeElement)) {
        toast.dataset.scheduled = "";
        scheduleRemoval(toast);
        return;
      }
      toast.remove();
    }, seconds * 1000);
  }

  // Messages of a full page load (after a plain form post) leave on their own too.
  document.querySelectorAll("#messages .message").forEach(scheduleRemoval);

  document.body.addEventListener("htmx:load", function (event) {
    var element = event.detail.elt;
    if (!element || !element.querySelectorAll) return;
    if (element.classList && element.classList.contains("toast")) scheduleRemoval(element);
    element.querySelectorAll(".toast").forEach(scheduleRemoval);
  });

  // After a correction the worker rebuilds the index and re-matches the other photos within a
  // few seconds. Regions that show recognition results listen for "recognitionTick" (besides
  // "facesChanged") and refresh themselves a few times, also on the next pages opened in that
  // time, so the results appear without a reload and nothing polls for ever.
  var TICK_SECONDS = [2.5, 5, 9, 15, 24];
  var TICK_KEY = "smartgallery:recognising-since";

  function scheduleTicks(since) {
    var elapsed = (Date.now() - since) / 1000;
    TICK_SECONDS.forEach(function (at) {
      if (at <= elapsed) return;
      window.setTimeout(function () {
        if (String(since) !== window.sessionStorage.getItem(TICK_KEY)) return; // a newer burst took over
        var dialog = faceDialog();
        // Never redraw under someone typing or deciding in the face panel.
        if ((dialog && dialog.open) || typing()) return;
        document.body.dispatchEvent(new CustomEvent("recognitionTick", { bubbles: true }));
      }, (at - elapsed) * 1000);
    });
  }

  function startTicks() {
    var now = Date.now();
    try {
      window.sessionStorage.setItem(TICK_KEY, String(now));
    } catch (error) {
      return; // storage refused (private mode): the page still updates on the user's own actions
    }
    scheduleTicks(now);
  }

  document.body.addEventListener("facesChanged", startTicks);
  try {
    var since = parseInt(window.sessionStorage.getItem(TICK_KEY), 10);
    if (since && Date.now() - since < TICK_SECONDS[TICK_SECONDS.length - 1] * 1000) scheduleTicks(since);
  } catch (error) { /* no storage: no ticks */ }
})();
