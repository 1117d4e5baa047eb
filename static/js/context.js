/* Photo context: a face crop shown for a decision (an element with data-photo-context, made by
   the photo_context template tag) shows the whole photo it comes from with the face outlined,
   to tell a face from its neighbours or a poster from a person:
   - pointing at it with a mouse, after a short delay; gone when the pointer leaves;
   - pressing and holding it on a touch screen (no context menu, no text selection, and the tap
     that ends the press does not open the face); gone at the next tap;
   - V on the focused face (or anything in its tile), V again or Escape to close.
   The photo is the owner's preview (an owner-checked media route), fetched only when shown. The
   box and the size go through CSS custom properties (the CSP forbids style="" attributes, not
   the CSSOM). Needs app.js (loaded before it) for SmartGallery.shortcutAllowed. */
(function () {
  "use strict";

  var SELECTOR = "[data-photo-context]";
  var HOVER_MS = 450;
  var PRESS_MS = 500;
  var MOVE_PX = 10; // a finger that moves this far scrolls: no long press
  var GAP = 8; // between the popover and the face, and the window's edges
  var MAX_WIDTH = 560;

  var pop = null, frame, img, caption;
  var current = null; // the face whose photo is shown
  var trigger = null; // the focusable element described by the popover meanwhile
  var hoverTimer = 0;
  var press = null; // a touch press in progress: {thumb, x, y, timer, fired}
  var swallowClickUntil = 0;

  function build() {
    pop = document.createElement("div");
    pop.id = "photo-context";
    pop.className = "photo-context";
    pop.setAttribute("role", "tooltip");
    pop.hidden = true;
    frame = document.createElement("div");
    frame.className = "photo-context-frame";
    img = document.createElement("img");
    img.className = "photo-context-photo";
    img.alt = "";
    img.decoding = "async";
    var box = document.createElement("span");
    box.className = "photo-context-box";
    frame.appendChild(img);
    frame.appendChild(box);
    caption = document.createElement("p");
    caption.className = "photo-context-caption";
    pop.appendChild(frame);
    pop.appendChild(caption);
    document.body.appendChild(pop);
    img.addEventListener("error", function () {
      if (!img.getAttribute("src")) return;
      pop.classList.add("photo-context-failed");
      caption.textContent = "The photo could not be loaded.";
    });
  }

  function numbers(element, name) {
    return (element.getAttribute(name) || "").split(" ").map(parseFloat);
  }

  // The face a key press is about: the focused face, or the one face in the focused element's
  // tile (the nearest ancestor holding exactly one); none when that is ambiguous.
  function thumbFor(element) {
    for (var node = element; node && node.nodeType === 1; node = node.parentElement) {
      if (node.matches(SELECTOR)) return node;
      var found = node.querySelectorAll(SELECTOR);
      if (found.length === 1) return found[0];
      if (found.length > 1) return null;
    }
    return null;
  }

  function focusableOf(thumb) {
    var item = thumb.closest("a, button, label, [tabindex]");
    if (item && item.tagName === "LABEL" && item.control) return item.control;
    return item;
  }

  function place(thumb) {
    var width = document.documentElement.clientWidth;
    var height = window.innerHeight;
    var size = numbers(thumb, "data-photo-size");
    var ratio = size[0] > 0 && size[1] > 0 ? size[0] / size[1] : 4 / 3;
    // As large as fits: the window's width less the gaps, at most MAX_WIDTH, and 70% of its height.
    var w = Math.min(MAX_WIDTH, width - 2 * GAP - 2);
    var h = w / ratio;
    var tallest = Math.max(120, 0.7 * height - 40);
    if (h > tallest) {
      h = tallest;
      w = h * ratio;
    }
    pop.style.setProperty("--photo-width", Math.floor(w) + "px");
    pop.style.setProperty("--photo-height", Math.floor(h) + "px");

    var rect = thumb.getBoundingClientRect();
    var popW = pop.offsetWidth, popH = pop.offsetHeight;
    var left, top;
    function clamp(value, low, high) { return Math.max(low, Math.min(value, high)); }
    if (rect.right + GAP + popW <= width - GAP) {
      left = rect.right + GAP; // beside the face, to the right
    } else if (rect.left - GAP - popW >= GAP) {
      left = rect.left - GAP - popW; // to the left
    }
    if (left !== undefined) {
      top = clamp(rect.top + rect.height / 2 - popH / 2, GAP, height - popH - GAP);
    } else {
      // No room beside it (a phone): under the face, else above it, else over the window.
      left = clamp(rect.left + rect.width / 2 - popW / 2, GAP, width - popW - GAP);
      if (rect.bottom + GAP + popH <= height - GAP) top = rect.bottom + GAP;
      else if (rect.top - GAP - popH >= GAP) top = rect.top - GAP - popH;
      else top = clamp(height - popH - GAP, GAP, height);
    }
    pop.style.setProperty("--popover-left", Math.round(left) + "px");
    pop.style.setProperty("--popover-top", Math.round(top) + "px");
  }

  function show(thumb) {
    if (!thumb.isConnected || document.querySelector("dialog[open]")) return;
    if (!pop) build();
    if (current === thumb && !pop.hidden) return;
    hide();
    current = thumb;
    var box = numbers(thumb, "data-face-box");
    ["--face-left", "--face-top", "--face-width", "--face-height"].forEach(function (name, i) {
      pop.style.setProperty(name, (box[i] || 0) + "%");
    });
    var date = thumb.getAttribute("data-photo-date") || "";
    img.alt = "The whole photo" + (date ? " of " + date : "") + ", the face outlined";
    caption.textContent = date ? "The whole photo · " + date : "The whole photo";
    pop.classList.remove("photo-context-failed");
    img.src = thumb.getAttribute("data-photo-context");
    pop.hidden = false;
    place(thumb);
    trigger = focusableOf(thumb);
    if (trigger) trigger.setAttribute("aria-describedby", "photo-context");
  }

  function hide() {
    window.clearTimeout(hoverTimer);
    hoverTimer = 0;
    if (!pop || pop.hidden) return;
    pop.hidden = true;
    img.removeAttribute("src"); // a slow preview arriving later is not shown for another face
    if (trigger && trigger.getAttribute("aria-describedby") === "photo-context") trigger.removeAttribute("aria-describedby");
    trigger = null;
    current = null;
  }

  function shown() {
    return !!pop && !pop.hidden;
  }

  // A mouse (or a pen) pointing at a face.
  document.addEventListener("pointerover", function (event) {
    if (event.pointerType === "touch") return;
    var thumb = event.target.closest && event.target.closest(SELECTOR);
    if (!thumb || thumb === current) return;
    window.clearTimeout(hoverTimer);
    hoverTimer = window.setTimeout(function () { show(thumb); }, HOVER_MS);
  });
  document.addEventListener("pointerout", function (event) {
    if (event.pointerType === "touch") return;
    var thumb = event.target.closest && event.target.closest(SELECTOR);
    if (!thumb || (event.relatedTarget && thumb.contains(event.relatedTarget))) return;
    window.clearTimeout(hoverTimer);
    if (thumb === current) hide();
  });

  // A finger: a long press shows the photo; any other press closes it.
  function cancelPress() {
    if (press && !press.fired) window.clearTimeout(press.timer);
    press = null;
  }
  document.addEventListener("pointerdown", function (event) {
    var thumb = event.target.closest && event.target.closest(SELECTOR);
    if (shown()) hide();
    cancelPress();
    if (event.pointerType !== "touch" || !thumb) return;
    press = { thumb: thumb, x: event.clientX, y: event.clientY, fired: false };
    press.timer = window.setTimeout(function () {
      if (!press || press.thumb !== thumb) return;
      press.fired = true;
      show(thumb);
    }, PRESS_MS);
  }, true);
  document.addEventListener("pointermove", function (event) {
    if (!press || press.fired || event.pointerType !== "touch") return;
    if (Math.abs(event.clientX - press.x) > MOVE_PX || Math.abs(event.clientY - press.y) > MOVE_PX) cancelPress();
  }, true);
  document.addEventListener("pointerup", function (event) {
    if (!press || event.pointerType !== "touch") return;
    // The tap that ends a long press must not open the face (or tick its box).
    if (press.fired) swallowClickUntil = Date.now() + 600;
    cancelPress();
  }, true);
  document.addEventListener("pointercancel", cancelPress, true);
  document.addEventListener("click", function (event) {
    if (Date.now() > swallowClickUntil) return;
    swallowClickUntil = 0;
    event.preventDefault();
    event.stopPropagation();
  }, true);
  document.addEventListener("contextmenu", function (event) {
    // The browser's own menu of a long press on an image: the press shows the photo instead.
    if ((press || Date.now() <= swallowClickUntil) && event.target.closest && event.target.closest(SELECTOR)) {
      event.preventDefault();
    }
  }, true);

  // SmartGallery.shortcutAllowed, except that a ticked or unticked face (a checkbox of the group
  // and outlier pages) is no text field: a letter typed there means nothing to it.
  function allowed(event) {
    var active = document.activeElement;
    if (!active || !active.matches("input[type=checkbox]")) return window.SmartGallery.shortcutAllowed(event);
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return false;
    return !document.querySelector("dialog[open]");
  }

  // The keyboard: V shows (or hides) the photo of the face in focus; Escape closes it.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && shown() && !document.querySelector("dialog[open]")) {
      event.preventDefault();
      hide();
      return;
    }
    if (event.key !== "v" && event.key !== "V") {
      // Any other key acts on the page (an answer, the help, Tab): the photo leaves first.
      if (!/^(Shift|Control|Alt|Meta|CapsLock)$/.test(event.key)) hide();
      return;
    }
    if (event.repeat || event.shiftKey || !allowed(event)) return;
    var thumb = thumbFor(document.activeElement);
    if (!thumb) return;
    event.preventDefault();
    if (thumb === current && shown()) hide();
    else show(thumb);
  });
  document.addEventListener("focusin", function (event) {
    if (shown() && trigger && event.target !== trigger && !(current && current.contains(event.target))) hide();
  });

  // The page moved or changed under it: the face may be elsewhere, or gone.
  window.addEventListener("scroll", function () { if (shown()) hide(); }, true);
  window.addEventListener("resize", function () { if (shown()) hide(); });
  document.body.addEventListener("htmx:beforeSwap", hide);
  document.body.addEventListener("htmx:beforeRequest", hide);
})();
