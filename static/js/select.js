/* Selecting many faces at once, in a form marked data-select: Select all, Invert, Select none,
   a count, Shift+click for a range, and the buttons that act on the selection
   (data-needs-selection) enabled only when something is selected. Without this script the
   checkboxes work one by one and the bar stays hidden. */
(function () {
  "use strict";

  function picks(form) {
    return Array.prototype.slice.call(form.querySelectorAll("input[type=checkbox][data-pick]"));
  }

  function update(form) {
    var all = picks(form);
    var chosen = all.filter(function (box) { return box.checked; }).length;
    var count = form.querySelector("[data-select-count]");
    if (count) count.textContent = chosen ? chosen + " of " + all.length + " selected" : "";
    form.querySelectorAll("[data-needs-selection]").forEach(function (button) {
      button.disabled = chosen === 0;
    });
  }

  function setUp(form) {
    if (form.dataset.selectReady) return;
    form.dataset.selectReady = "1";
    var bar = form.querySelector("[data-select-bar]");
    if (bar) bar.hidden = false;
    var last = null;

    form.addEventListener("click", function (event) {
      var target = event.target;
      if (target.closest("[data-select-all]")) picks(form).forEach(function (box) { box.checked = true; });
      else if (target.closest("[data-select-none]")) picks(form).forEach(function (box) { box.checked = false; });
      else if (target.closest("[data-select-invert]")) picks(form).forEach(function (box) { box.checked = !box.checked; });
      else if (target.matches("input[type=checkbox][data-pick]")) {
        // Shift+click: everything between the last box clicked and this one follows this one.
        var all = picks(form);
        if (event.shiftKey && last && last !== target && all.indexOf(last) !== -1) {
          var from = all.indexOf(last);
          var to = all.indexOf(target);
          all.slice(Math.min(from, to), Math.max(from, to) + 1).forEach(function (box) { box.checked = target.checked; });
        }
        last = target;
      } else {
        return;
      }
      update(form);
    });
    form.addEventListener("change", function () { update(form); });
    update(form);
  }

  function setUpAll(root) {
    if (root.matches && root.matches("[data-select]")) setUp(root);
    root.querySelectorAll("[data-select]").forEach(setUp);
  }

  setUpAll(document);
  // Faces loaded into a form later ("Show more faces") join its selection.
  document.body.addEventListener("htmx:load", function (event) {
    var element = event.detail.elt;
    if (!element || !element.closest) return;
    var form = element.closest("[data-select]");
    if (form) {
      setUp(form);
      update(form);
    } else if (element.querySelectorAll) {
      setUpAll(element);
    }
  });
})();
