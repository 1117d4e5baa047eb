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

  // A small photo is shown larger on a big screen: at the size of its width and height
  // attributes (up to twice its own, gallery_extras.display_size) as far as the page's width and
  // 80% of the window's height allow. CSS alone keeps it at its natural size: `width: auto` is
  // what keeps the ratio under max-width and max-height, and a width from the attribute would not.
  // On a phone the CSS gives it the page's width.
  var wide = window.matchMedia("(min-width: 641px)");
  function fitPhoto() {
    var img = document.querySelector("#photo-frame img");
    if (!img) return;
    var width = parseFloat(img.getAttribute("width")), height = parseFloat(img.getAttribute("height"));
    var figure = img.closest(".photo-figure");
    if (!wide.matches || !figure || !(width > 0 && height > 0)) {
      img.style.width = "";
      return;
    }
    var shown = Math.min(width, figure.clientWidth, 0.8 * window.innerHeight * width / height);
    img.style.width = Math.floor(shown) + "px";
  }
  fitPhoto();
  window.addEventListener("resize", fitPhoto);

  // The boxes are redrawn (htmx) after every face action and recognition tick.
  document.body.addEventListener("htmx:load", function (event) {
    var element = event.detail.elt;
    if (element && element.querySelectorAll) placeBoxes(element);
    fitPhoto();
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
