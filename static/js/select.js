/* Selecting many faces at once, in an element marked data-select (a form, or a part of a page
   whose checkboxes belong to a form through their form attribute): Select all, Invert, Select
   none, a count, Shift+click for a range, the buttons that act on the selection
   (data-needs-selection) enabled only when something is selected, and the parts marked
   data-selection-bar shown only then. After a successful htmx post of a form marked data-bulk
   (an action on the selection), nothing is selected any more. Without this script the
   checkboxes work one by one, the bars are all shown and the select bar stays hidden. */
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
    form.querySelectorAll("[data-selection-bar]").forEach(function (bar) {
      bar.hidden = chosen === 0;
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
  // An action on the selection answered: it is done, nothing stays selected (the tiles that
  // left went with the answer; the others stay, unticked).
  document.body.addEventListener("htmx:afterRequest", function (event) {
    var element = event.detail.elt;
    if (!event.detail.successful || !element || !element.matches || !element.matches("form[data-bulk]")) return;
    var area = element.closest("[data-select]");
    if (!area || !area.isConnected) return;
    picks(area).forEach(function (box) { box.checked = false; });
    update(area);
  });
  // Tiles taken away or redrawn out of band: the count follows.
  document.body.addEventListener("htmx:oobAfterSwap", function () {
    document.querySelectorAll("[data-select][data-select-ready]").forEach(update);
  });
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
