// "Articles à rattacher": keyboard shortcuts and the nomenclature search box (no inline script:
// the CSP is script-src 'self'). j/k move between groups, 1-5 accept the nth suggestion of the
// focused group, c focuses its code field, s its search box, n/p change page, / the filters,
// u undoes the last decision.
(function () {
  "use strict";
  var groups = Array.prototype.slice.call(document.querySelectorAll("[data-group]"));
  var index = -1;

  function focusGroup(i) {
    if (!groups.length) { return; }
    if (index >= 0) { groups[index].classList.remove("selected"); }
    index = Math.max(0, Math.min(groups.length - 1, i));
    groups[index].classList.add("selected");
    groups[index].focus({ preventScroll: true });
    groups[index].scrollIntoView({ block: "nearest" });
  }

  groups.forEach(function (group, i) {
    group.addEventListener("focusin", function () {
      if (index !== i) {
        if (index >= 0) { groups[index].classList.remove("selected"); }
        index = i;
        group.classList.add("selected");
      }
    });
  });

  function submitOnce(form) {
    if (form.dataset.sent) { return; }
    form.dataset.sent = "1";
    form.submit();
  }

  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.ctrlKey || event.metaKey || event.altKey) {
      if (event.key === "Escape" && event.target.blur) { event.target.blur(); }
      return;
    }
    var group = index >= 0 ? groups[index] : null;
    if (event.key === "j") { focusGroup(index + 1); event.preventDefault(); }
    else if (event.key === "k") { focusGroup(index - 1); event.preventDefault(); }
    else if (/^[1-5]$/.test(event.key) && group) {
      var forms = group.querySelectorAll("form[data-accept]");
      var form = forms[parseInt(event.key, 10) - 1];
      if (form) { event.preventDefault(); submitOnce(form); }
    } else if ((event.key === "c" || event.key === "s") && group) {
      var field = group.querySelector(event.key === "c" ? "[data-code-input]" : "[data-nomenclature-search]");
      if (field) { field.focus(); event.preventDefault(); }
    } else if (event.key === "n" || event.key === "p") {
      var pager = document.querySelector(event.key === "n" ? "a[rel=next]" : "a[rel=prev]");
      if (pager) { window.location.href = pager.href; }
    } else if (event.key === "u") {
      var undo = document.querySelector("form[data-undo]");
      if (undo) { event.preventDefault(); submitOnce(undo); }
    } else if (event.key === "/") {
      var search = document.querySelector("form.filters input[name=q]");
      if (search) { search.focus(); event.preventDefault(); }
    }
  });

  // Nomenclature search: GET ?q= returns {"results": [{code, label, family_label, score}]}.
  Array.prototype.forEach.call(document.querySelectorAll("[data-nomenclature-search]"), function (input) {
    var form = input.closest("form");
    var list = form.querySelector("[data-search-results]");
    var codeInput = form.querySelector("[data-code-input]");
    var timer = null;
    var last = "";
    function render(results) {
      list.textContent = "";
      results.forEach(function (item) {
        var li = document.createElement("li");
        var button = document.createElement("button");
        button.type = "button";
        button.className = "link-muted";
        var code = document.createElement("code");
        code.textContent = item.code;
        button.appendChild(code);
        button.appendChild(document.createTextNode(" " + item.label + " · " + item.family_label +
          (item.score !== null ? " (" + Math.round(item.score) + ")" : "")));
        button.addEventListener("click", function () {
          codeInput.value = item.code;
          codeInput.focus();
        });
        li.appendChild(button);
        list.appendChild(li);
      });
      if (!results.length && last.length >= 2) {
        var empty = document.createElement("li");
        empty.className = "muted";
        empty.textContent = "Aucun article trouvé.";
        list.appendChild(empty);
      }
    }
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        var q = input.value.trim();
        last = q;
        if (q.length < 2) { render([]); return; }
        fetch(input.dataset.url + "?q=" + encodeURIComponent(q), {
          headers: { Accept: "application/json" }, credentials: "same-origin"
        }).then(function (response) { return response.json(); })
          .then(function (data) { if (q === last) { render(data.results || []); } })
          .catch(function () { render([]); });
      }, 200);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {  // choose the first result instead of submitting the form
        var first = list.querySelector("button");
        if (first) { first.click(); }
        event.preventDefault();
      }
    });
  });

  // After a decision the page comes back with #groupe-N: the decided group is gone, so group N
  // is the next one to decide — focus it where the previous one was (same place in the queue).
  var wanted = /^#groupe-(\d+)$/.exec(window.location.hash || "");
  if (groups.length && wanted) {
    focusGroup(Math.min(parseInt(wanted[1], 10), groups.length) - 1);
    groups[index].scrollIntoView({ block: "start" });
  } else if (groups.length) {
    focusGroup(0);
    window.scrollTo(0, 0);
  }
}());
