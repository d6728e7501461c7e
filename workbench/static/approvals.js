// « À valider » and the grouped anomaly queues: the page checkbox ticks every proposal of the page; "toutes les propositions
// filtrées" ticks them too (the server then decides every filtered proposal, all pages).
// No inline script: the CSP is script-src 'self'.
(function () {
  "use strict";
  var form = document.querySelector("[data-approvals], [data-bulk-groups], [data-bulk-confirm]");
  if (!form) { return; }
  var boxes = Array.prototype.slice.call(form.querySelectorAll("input[name=ids], input[name=groupes], input[name=choix]"));
  var page = form.querySelector("[data-select-page]");
  var filtered = form.querySelector("[data-select-filtered]");
  var counter = form.querySelector("[data-selection-count]");

  function update() {
    var ticked = boxes.filter(function (b) { return b.checked; }).length;
    if (page) {
      page.checked = boxes.length > 0 && ticked === boxes.length;
      page.indeterminate = ticked > 0 && ticked < boxes.length;
    }
    if (counter) {
      counter.textContent = filtered && filtered.checked
        ? "Toutes les propositions filtrées seront traitées."
        : (ticked ? ticked + " sélectionnée" + (ticked > 1 ? "s" : "") : "");
    }
  }
  if (page) {
    page.addEventListener("change", function () {
      boxes.forEach(function (b) { b.checked = page.checked; });
      if (!page.checked && filtered) { filtered.checked = false; }
      update();
    });
  }
  if (filtered) {
    filtered.addEventListener("change", function () {
      if (filtered.checked) { boxes.forEach(function (b) { b.checked = true; }); }
      update();
    });
  }
  boxes.forEach(function (b) {
    b.addEventListener("change", function () {
      if (!b.checked && filtered) { filtered.checked = false; }
      update();
    });
  });
  update();
}());
