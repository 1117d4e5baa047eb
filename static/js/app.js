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

  // A shortcut may act: no modifier, not typing, and no dialog open over the page (the face
  // panel, the keyboard help).
  function shortcutAllowed(event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return false;
    if (typing()) return false;
    return !document.querySelector("dialog[open]");
  }

  window.SmartGallery = { faceDialog: faceDialog, typing: typing, shortcutAllowed: shortcutAllowed };

  // The page's keyboard help (templates/_shortcuts.html): "?" or its button opens it; Escape
  // closes it, and the browser gives the focus back to where it was.
  var help = document.getElementById("shortcuts");
  if (help) {
    document.querySelectorAll("[data-shortcuts-open]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { help.showModal(); });
    });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "?" || help.open || !shortcutAllowed(event)) return;
      event.preventDefault();
      help.showModal();
    });
  }

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

  function busy(toast) {
    return toast.matches(":hover") || toast.contains(document.activeElement);
  }

  function scheduleRemoval(toast) {
    if (toast.dataset.scheduled) return;
    toast.dataset.scheduled = "1";
    var seconds = toast.hasAttribute("data-undo") ? UNDO_TOAST_SECONDS : TOAST_SECONDS;
    if (toast.classList.contains("message-error")) seconds = UNDO_TOAST_SECONDS;
    window.setTimeout(function () {
      // Never pull a toast from under the keyboard or the pointer.
      if (busy(toast)) {
        toast.dataset.scheduled = "";
        scheduleRemoval(toast);
        return;
      }
      toast.remove();
    }, seconds * 1000);
  }

  // Messages of a full page load (after a plain form post) leave on their own too.
  document.querySelectorAll("#messages .message").forEach(scheduleRemoval);

  // At most this many toasts at once: the oldest go first (not one being read or used).
  var MAX_TOASTS = 3;

  // The control the user acted on last, where it was: the toasts keep clear of it.
  var lastControl = null;
  document.addEventListener(
    "pointerdown",
    function (event) {
      var control = event.target.closest && event.target.closest("button, a, input, select, textarea, label");
      if (control && !control.closest("#messages")) lastControl = control.getBoundingClientRect();
    },
    true
  );
  document.addEventListener("keydown", function () {
    var active = document.activeElement;
    if (active && active !== document.body && !active.closest("#messages")) lastControl = active.getBoundingClientRect();
  }, true);

  function overlaps(a, b) {
    var margin = 8;
    return a.left < b.right + margin && b.left < a.right + margin && a.top < b.bottom + margin && b.top < a.bottom + margin;
  }

  // The toasts float at the bottom of the window; when that would cover the control just used
  // (a button low on the page), they float at the top instead, under the header.
  function placeToasts() {
    if (!messages) return;
    var toasts = messages.querySelectorAll(".message");
    if (!toasts.length || !lastControl) return;
    messages.classList.remove("messages-top");
    messages.style.top = "";
    if (!overlaps(messages.getBoundingClientRect(), lastControl)) return;
    var header = document.querySelector(".topbar");
    var top = header ? Math.max(header.getBoundingClientRect().bottom, 0) : 0;
    messages.classList.add("messages-top");
    messages.style.top = top + 8 + "px";
  }

  function tidyToasts(newest) {
    // The same action repeated joined the newest toast (same Undo): its older copies go.
    var token = newest.getAttribute("data-toast");
    if (token) {
      messages.querySelectorAll(".toast[data-toast]").forEach(function (toast) {
        if (toast !== newest && toast.getAttribute("data-toast") === token) toast.remove();
      });
    }
    // Oldest first, and one being read or used only when no other can go.
    var all = Array.prototype.slice.call(messages.querySelectorAll(".message"));
    var extra = all.length - MAX_TOASTS;
    [false, true].forEach(function (evenBusy) {
      all.forEach(function (toast) {
        if (extra > 0 && toast !== newest && toast.isConnected && (evenBusy || !busy(toast))) {
          toast.remove();
          extra -= 1;
        }
      });
    });
    placeToasts();
  }

  document.body.addEventListener("htmx:load", function (event) {
    var element = event.detail.elt;
    if (!element || !element.querySelectorAll) return;
    var toasts = element.classList && element.classList.contains("toast") ? [element] : [];
    toasts = toasts.concat(Array.prototype.slice.call(element.querySelectorAll(".toast")));
    toasts.forEach(function (toast) {
      scheduleRemoval(toast);
      tidyToasts(toast);
    });
  });

  if (messages) {
    // A toast that left (closed, timed out) may let the others go back to the bottom.
    new MutationObserver(placeToasts).observe(messages, { childList: true });
  }

  // After a correction the worker rebuilds the index and re-matches the other photos within a
  // few seconds. Regions that show recognition results listen for "recognitionTick" (besides
  // "facesChanged") and refresh themselves a few times, also on the next pages opened in that
  // time, so the results appear without a reload and nothing polls for ever.
  var TICK_SECONDS = [2.5, 5, 9, 15, 24];
  var TICK_KEY = "smartgallery:recognising-since";

  function busyWithAForm() {
    var dialog = faceDialog();
    if ((dialog && dialog.open) || typing() || document.querySelector("main details[open]")) return true;
    // Faces picked for an action on several at once: a redraw would drop the selection.
    if (document.querySelector("main input[data-pick]:checked")) return true;
    return Array.prototype.some.call(document.querySelectorAll("main input[type=text]"), function (input) {
      return input.value !== input.defaultValue;
    });
  }

  function scheduleTicks(since) {
    var elapsed = (Date.now() - since) / 1000;
    TICK_SECONDS.forEach(function (at) {
      if (at <= elapsed) return;
      window.setTimeout(function () {
        if (String(since) !== window.sessionStorage.getItem(TICK_KEY)) return; // a newer burst took over
        // Never redraw under someone typing, deciding in the face panel, with a <details> open
        // (rename, delete...) or with a name typed and not sent yet: the redrawn region would
        // close it or drop what they typed under their pointer.
        if (busyWithAForm()) return;
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

  // A click that changes something (a POST) and a refresh of the region it sits in must not
  // cross: a region redrawn while the POST is in flight detaches the form that sent it, and
  // htmx then puts the answer (its toast, the redrawn card) into that detached copy, where
  // nobody sees it. So while a POST is in flight a refresh (on recognitionTick or facesChanged)
  // neither starts nor, if it started before, swaps its answer in: the POST's own facesChanged
  // refreshes the page once its answer is in. A POST counts until its answer is being put in
  // the page (beforeOnLoad), which is when the refreshes it triggers start.
  var writing = [];

  function forget(element) {
    var at = writing.indexOf(element);
    if (at >= 0) writing.splice(at, 1);
  }

  function isRefresh(detail) {
    var trigger = detail.requestConfig && detail.requestConfig.triggeringEvent;
    return !!trigger && (trigger.type === "recognitionTick" || trigger.type === "facesChanged");
  }

  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var verb = ((event.detail.requestConfig && event.detail.requestConfig.verb) || "get").toLowerCase();
    if (verb !== "get") writing.push(event.target);
    else if (writing.length && isRefresh(event.detail)) event.preventDefault();
  });
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    if (writing.length && isRefresh(event.detail)) event.detail.shouldSwap = false;
    // A background tick checked that nobody was typing when it was sent, not when its answer
    // comes back: a user who clicked into a name field meanwhile would lose the first letters
    // with the redrawn field (a group named "ll" for "Colin_Powell"). Dropped; the answer to
    // what they send redraws the region anyway.
    var trigger = event.detail.requestConfig && event.detail.requestConfig.triggeringEvent;
    if (trigger && trigger.type === "recognitionTick" && busyWithAForm()) event.detail.shouldSwap = false;
  });
  document.body.addEventListener("htmx:beforeOnLoad", function (event) {
    forget(event.target);
  });
  document.body.addEventListener("htmx:afterRequest", function (event) {
    forget(event.target);
  });

  document.body.addEventListener("facesChanged", startTicks);
  try {
    var since = parseInt(window.sessionStorage.getItem(TICK_KEY), 10);
    if (since && Date.now() - since < TICK_SECONDS[TICK_SECONDS.length - 1] * 1000) scheduleTicks(since);
  } catch (error) { /* no storage: no ticks */ }
})();
