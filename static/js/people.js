/* People pages: the face action dialog, toasts and the review keyboard shortcuts.
   Our own small script (no framework); loaded as a static file because the Content-Security-Policy
   allows no inline scripts or inline event handlers. */
(function () {
  "use strict";

  var TOAST_SECONDS = 6;
  var UNDO_TOAST_SECONDS = 15;

  function faceDialog() {
    return document.getElementById("face-dialog");
  }

  // With this script, messages float above the page instead of pushing it down when a toast
  // comes in (without it they stay in the page flow, where nothing covers them).
  var messages = document.getElementById("messages");
  if (messages) messages.classList.add("messages-floating");

  // A face link loaded the action panel into the dialog: open it and focus its first control.
  // On afterSettle, not afterSwap: htmx wires up the new panel's forms while settling, and a
  // form submitted before that (a quick Enter) would go out as a plain full-page POST.
  document.body.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "face-panel") return;
    var dialog = faceDialog();
    if (dialog && !dialog.open) dialog.showModal();
    var first = target.querySelector("input[type=text], button");
    if (first) first.focus();
  });

  // Face boxes on the photo page: placed from data-box ("left top width height", in percent of
  // the photo) through the CSSOM, which the CSP allows where it forbids style="" attributes.
  function placeBoxes(root) {
    root.querySelectorAll("[data-box]").forEach(function (box) {
      var parts = box.getAttribute("data-box").split(" ").map(parseFloat);
      if (parts.length !== 4 || parts.some(isNaN)) return;
      box.style.left = parts[0] + "%";
      box.style.top = parts[1] + "%";
      box.style.width = parts[2] + "%";
      box.style.height = parts[3] + "%";
    });
  }
  placeBoxes(document);

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
    placeBoxes(element);
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
        var active = document.activeElement;
        var dialog = faceDialog();
        // Never redraw under someone typing or deciding in the face panel.
        if ((dialog && dialog.open) || (active && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName))) return;
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

  function typing() {
    var active = document.activeElement;
    return active && (active.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName));
  }

  // Photo page: the arrow keys go to the newer (left) and older (right) photo.
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
    if (typing() || document.querySelector("[data-review]")) return;
    var dialog = faceDialog();
    if (dialog && dialog.open) return;
    var link = document.querySelector(event.key === "ArrowLeft" ? ".photo-nav a[rel=prev]" : ".photo-nav a[rel=next]");
    if (!link) return;
    event.preventDefault();
    link.click();
  });

  // Review: Y / N answer the suggestion, arrow keys move through the queue.
  var KEYS = {
    y: "[data-review-yes]",
    n: "[data-review-no]",
    ArrowRight: "[data-review-next]",
    ArrowLeft: "[data-review-prev]",
  };

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || event.repeat) return;
    var active = document.activeElement;
    if (active && (active.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName))) return;
    var dialog = faceDialog();
    if (dialog && dialog.open) return;
    var card = document.querySelector("[data-review]");
    if (!card || card.classList.contains("htmx-request")) return;
    var key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    var selector = KEYS[key];
    if (!selector) return;
    var control = card.querySelector(selector);
    if (!control || control.disabled) return;
    event.preventDefault();
    control.click();
  });
})();
