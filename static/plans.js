/* Progress page of a plan solve: poll the job's JSON every second (no libraries). */
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box) { return; }
  var url = box.dataset.jsonUrl;
  var label = function (key) { return box.dataset["label" + key.charAt(0).toUpperCase() + key.slice(1)] || key; };
  var el = function (id) { return document.getElementById(id); };
  var fmt = function (n) { return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, "."); };
  var timer = null;

  function render(s) {
    box.dataset.status = s.status;
    el("job-status").textContent = label(s.status);
    el("job-phase").textContent = s.status === "running" && s.phase ? label(s.phase) : "";
    el("job-elapsed").textContent = Math.floor(s.elapsed || 0);
    if (s.time_limit) { el("job-limit").textContent = s.time_limit; }
    el("job-best").textContent = (s.best === null || s.best === undefined) ? label("none") : fmt(s.best);
    el("job-solutions").textContent = s.solutions || 0;
    var bar = el("job-progress");
    if (s.time_limit) { bar.value = Math.min(100, 100 * (s.elapsed || 0) / s.time_limit); }
    if (s.status === "done") { bar.value = 100; }
    var cancel = el("job-cancel");
    if (cancel && s.status !== "queued" && s.status !== "running") { cancel.hidden = true; }
    if (s.status === "failed") {
      el("job-error-text").textContent = s.error || "";
      el("job-error").hidden = false;
    }
  }

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (s) {
        render(s);
        if (s.status === "done" && s.result_url) {
          window.location.assign(s.result_url);
          return;
        }
        if (s.status === "failed") { return; }
        timer = window.setTimeout(poll, 1000);
      })
      .catch(function () {
        el("job-phase").textContent = label("conn");
        timer = window.setTimeout(poll, 2000);
      });
  }

  if (box.dataset.status !== "failed") { poll(); }
})();
