/* The photo page: face boxes placed over the photo, and the arrow keys to the next photo.
   Needs app.js (loaded before it). */
(function () {
  "use strict";

  // Face boxes: placed from data-box ("left top width height", in percent of the photo)
  // through the CSSOM, which the CSP allows where it forbids style="" attributes.
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

  // The boxes are redrawn (htmx) after every face action and recognition tick.
  document.body.addEventListener("htmx:load", function (event) {
    var element = event.detail.elt;
    if (element && element.querySelectorAll) placeBoxes(element);
  });

  // A chip under the photo pointed at or focused lights up its box (and shows its label).
  function light(event, on) {
    var chip = event.target.closest && event.target.closest("[data-face]");
    if (!chip) return;
    var box = document.getElementById(chip.getAttribute("data-face"));
    if (box) box.classList.toggle("face-box-lit", on);
  }
  document.addEventListener("pointerover", function (event) { light(event, true); });
  document.addEventListener("pointerout", function (event) { light(event, false); });
  document.addEventListener("focusin", function (event) { light(event, true); });
  document.addEventListener("focusout", function (event) { light(event, false); });

  // The arrow keys go to the newer (left) and older (right) photo.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
    if (event.shiftKey || !window.SmartGallery.shortcutAllowed(event)) return;
    var link = document.querySelector(event.key === "ArrowLeft" ? ".photo-nav a[rel=prev]" : ".photo-nav a[rel=next]");
    if (!link) return;
    event.preventDefault();
    link.click();
  });
})();
