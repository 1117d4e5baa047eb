/* Draw a face on the photo page: "Add a face" enters draw mode, where a box is dragged over
   the photo with the mouse or a finger (pointer events), or placed with the keyboard (a box
   appears in the middle: the arrow keys move it, Shift with the arrow keys resizes it, Enter
   names the face, Escape cancels). The box is sent in pixels of the original photo (the page
   shows a smaller preview) to the face form, which opens in the face dialog (app.js).
   Without JavaScript "Add a face" is a link to the same form as a page, where the box is typed. */
(function () {
  "use strict";

  var start = document.getElementById("draw-start");
  var bar = document.getElementById("draw-bar");
  if (!start || !bar || !window.htmx) return;
  var statusLine = document.getElementById("draw-status");
  var url = start.getAttribute("data-draw-url");
  var MIN_PX = 24; // faces.services.MIN_DRAWN_SIDE, pixels of the original
  var STEP = 2; // percent of the photo per arrow key
  var START_SIDE = 0.25; // the keyboard's first box: a quarter of the photo's shorter side
  var drawing = false;
  var box = null; // { l, t, w, h } in percent of the photo
  var element = null;
  var drag = null;

  function frame() { return document.getElementById("photo-frame"); }
  function image() { var f = frame(); return f && f.querySelector("img"); }

  function photoSize() {
    var parts = (frame().getAttribute("data-photo-size") || "").split(" ").map(parseFloat);
    return parts.length === 2 && parts[0] > 0 && parts[1] > 0 ? parts : [1, 1];
  }

  function announce(text) {
    if (statusLine) statusLine.textContent = text;
  }

  function clampBox(withMinimum) {
    var size = photoSize();
    var minW = withMinimum ? 100 * MIN_PX / size[0] : 0, minH = withMinimum ? 100 * MIN_PX / size[1] : 0;
    box.w = Math.max(minW, Math.min(100, box.w));
    box.h = Math.max(minH, Math.min(100, box.h));
    box.l = Math.max(0, Math.min(100 - box.w, box.l));
    box.t = Math.max(0, Math.min(100 - box.h, box.t));
  }

  function place() {
    var f = frame();
    if (!element || element.parentNode !== f) {
      element = document.createElement("div");
      element.className = "draw-box";
      element.tabIndex = 0;
      // "application": a screen reader passes the arrow keys on to the box instead of reading with them.
      element.setAttribute("role", "application");
      element.setAttribute("aria-roledescription", "face box");
      element.setAttribute("aria-label", "New face box");
      element.setAttribute("aria-describedby", "draw-help");
      element.addEventListener("keydown", onBoxKey);
      f.appendChild(element);
    }
    element.style.left = box.l + "%";
    element.style.top = box.t + "%";
    element.style.width = box.w + "%";
    element.style.height = box.h + "%";
  }

  function enter() {
    var f = frame();
    if (!f || !image()) return;
    drawing = true;
    var size = photoSize(), side = START_SIDE * Math.min(size[0], size[1]);
    box = { w: 100 * side / size[0], h: 100 * side / size[1] };
    box.l = (100 - box.w) / 2;
    box.t = (100 - box.h) / 2;
    f.classList.add("photo-frame-drawing");
    bar.hidden = false;
    start.setAttribute("aria-expanded", "true");
    place();
    // The bar and the photo in view, under the sticky header ("Add a face" is below the photo).
    var header = document.querySelector(".topbar");
    window.scrollBy(0, bar.getBoundingClientRect().top - (header ? header.getBoundingClientRect().height : 0) - 8);
    element.focus({ preventScroll: true });
    announce("Draw mode: a box is in the middle of the photo.");
  }

  function leave() {
    drawing = false;
    drag = null;
    if (element) element.remove();
    element = null;
    var f = frame();
    if (f) f.classList.remove("photo-frame-drawing");
    bar.hidden = true;
    start.setAttribute("aria-expanded", "false");
  }

  function confirmBox() {
    if (!drawing) return;
    clampBox(true);
    place();
    var size = photoSize();
    var pixels = {
      x1: box.l * size[0] / 100,
      y1: box.t * size[1] / 100,
      x2: (box.l + box.w) * size[0] / 100,
      y2: (box.t + box.h) * size[1] / 100
    };
    var query = Object.keys(pixels).map(function (key) {
      return key + "=" + (Math.round(pixels[key] * 10) / 10);
    }).join("&");
    // Into the face dialog, which app.js opens with the name field focused.
    window.htmx.ajax("GET", url + "?" + query, { target: "#face-panel", swap: "innerHTML" });
  }

  function onBoxKey(event) {
    var moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (moves[event.key]) {
      var d = moves[event.key];
      if (event.shiftKey) {
        box.w += d[0] * STEP;
        box.h += d[1] * STEP;
      } else {
        box.l += d[0] * STEP;
        box.t += d[1] * STEP;
      }
      clampBox(true);
      place();
    } else if (event.key === "Enter") {
      confirmBox();
    } else if (event.key === "Escape") {
      leave();
      start.focus();
      announce("Draw mode left.");
    } else {
      return;
    }
    // Taken: photo.js's arrow keys (newer/older photo) leave a handled key alone.
    event.preventDefault();
  }

  function pointAt(event) {
    var rect = image().getBoundingClientRect();
    return {
      x: Math.max(0, Math.min(100, 100 * (event.clientX - rect.left) / rect.width)),
      y: Math.max(0, Math.min(100, 100 * (event.clientY - rect.top) / rect.height))
    };
  }

  document.addEventListener("pointerdown", function (event) {
    var f = frame();
    if (!drawing || !f || !f.contains(event.target) || event.button !== 0) return;
    event.preventDefault(); // no image drag, no text selection, no scrolling on touch
    drag = { from: pointAt(event), id: event.pointerId, moved: false, before: box };
    try {
      f.setPointerCapture(event.pointerId); // the drag goes on outside the photo
    } catch (error) { /* a pointer the browser no longer tracks: the drag works without capture */ }
  });

  document.addEventListener("pointermove", function (event) {
    if (!drag || event.pointerId !== drag.id) return;
    var to = pointAt(event);
    var w = Math.abs(to.x - drag.from.x), h = Math.abs(to.y - drag.from.y);
    if (!drag.moved && w < 1 && h < 1) return; // a tap, not a drag (yet)
    drag.moved = true;
    box = { l: Math.min(to.x, drag.from.x), t: Math.min(to.y, drag.from.y), w: w, h: h };
    place();
  });

  function endDrag(event) {
    if (!drag || event.pointerId !== drag.id) return;
    var moved = drag.moved;
    if (!moved || event.type === "pointercancel") box = drag.before;
    drag = null;
    clampBox(true);
    place();
    element.focus({ preventScroll: true });
    if (moved) announce("Box drawn. Press Enter or Name this face; or draw it again.");
  }
  document.addEventListener("pointerup", endDrag);
  document.addEventListener("pointercancel", endDrag);

  start.addEventListener("click", function (event) {
    event.preventDefault();
    if (drawing) {
      element.focus({ preventScroll: true });
      return;
    }
    enter();
  });
  bar.querySelector("[data-draw-confirm]").addEventListener("click", confirmBox);
  bar.querySelector("[data-draw-cancel]").addEventListener("click", function () {
    leave();
    start.focus();
  });

  // The face was added: the dialog closes and the photo is redrawn with it (facesChanged).
  document.body.addEventListener("faceDrawn", function () {
    leave();
    var dialog = window.SmartGallery && window.SmartGallery.faceDialog();
    if (dialog && dialog.open) dialog.close();
    start.focus();
  });

  // The dialog closed without adding it ("Back to the box", Escape): back to the box.
  var dialog = window.SmartGallery && window.SmartGallery.faceDialog();
  if (dialog) {
    dialog.addEventListener("close", function () {
      if (drawing && element) element.focus();
    });
  }

  // While drawing, the recognition ticks do not redraw the photo (the box lives in it).
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var trigger = event.detail.requestConfig && event.detail.requestConfig.triggeringEvent;
    if (drawing && trigger && trigger.type === "recognitionTick") event.preventDefault();
  });
})();
