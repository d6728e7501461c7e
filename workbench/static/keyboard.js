// Keyboard shortcuts for lists: j/k move, Enter opens, n/p change page, / focuses the search box.
(function () {
  "use strict";
  var table = document.querySelector("[data-keyboard-list]");
  if (!table) { return; }
  var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr"));
  var index = -1;
  function select(i) {
    if (!rows.length) { return; }
    if (index >= 0) { rows[index].classList.remove("selected"); }
    index = Math.max(0, Math.min(rows.length - 1, i));
    rows[index].classList.add("selected");
    rows[index].scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.key === "j") { select(index + 1); event.preventDefault(); }
    else if (event.key === "k") { select(index - 1); event.preventDefault(); }
    else if (event.key === "Enter" && index >= 0) {
      var link = rows[index].querySelector("a");
      if (link) { window.location.href = link.href; }
    } else if (event.key === "n" || event.key === "p") {
      var pager = document.querySelector(event.key === "n" ? "a[rel=next]" : "a[rel=prev]");
      if (pager) { window.location.href = pager.href; }
    } else if (event.key === "/") {
      var search = document.querySelector("input[name=q]");
      if (search) { search.focus(); event.preventDefault(); }
    }
  });
}());
