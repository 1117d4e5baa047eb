/* The review queue: Y / N answer the suggestion on the card, the arrow keys move through the
   queue. Needs app.js (loaded before it). */
(function () {
  "use strict";

  var KEYS = {
    y: "[data-review-yes]",
    n: "[data-review-no]",
    ArrowRight: "[data-review-next]",
    ArrowLeft: "[data-review-prev]",
  };

  document.addEventListener("keydown", function (event) {
    if (event.repeat || !window.SmartGallery.shortcutAllowed(event)) return;
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
