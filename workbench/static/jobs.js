// Progress of a background job: polls the job's small JSON status until it is finished.
(function () {
  "use strict";
  var box = document.getElementById("job-progress");
  if (!box || box.dataset.finished === "true") { return; }
  var url = box.dataset.statusUrl;
  var bar = document.getElementById("job-bar");
  var status = document.getElementById("job-status");
  var percent = document.getElementById("job-percent");
  var step = document.getElementById("job-step");
  var result = document.getElementById("job-result");
  var batch = document.getElementById("job-batch");
  var cancel = document.getElementById("job-cancel");

  function show(state) {
    status.textContent = state.status_label;
    step.textContent = state.cancel_requested ? "Annulation demandée…" : state.step;
    if (state.percent === null || state.percent === undefined) {
      bar.removeAttribute("value");  // indeterminate
      percent.textContent = "";
    } else {
      bar.value = state.percent;
      percent.textContent = state.percent + " %";
    }
    if (state.batch_url) {
      batch.href = state.batch_url;
      result.hidden = false;
    }
    if (state.finished && cancel) { cancel.hidden = true; }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (!state) { window.setTimeout(poll, 5000); return; }
        show(state);
        if (!state.finished) { window.setTimeout(poll, 1000); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 500);
})();
