/* Plan page: filter the stop tables by village name or code, accent- and case-insensitive
   (like planner.ranking.fold). The query stays in the address (?q=) so a search can be shared
   or reloaded; without JavaScript the page simply shows every stop. No libraries. */
(function () {
  "use strict";
  var form = document.getElementById("stop-search");
  if (!form) { return; }
  var input = form.querySelector("input[name=q]");
  var none = document.getElementById("stop-search-none");
  var count = document.getElementById("stop-search-count");

  function fold(s) {
    return (s || "").normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .split(/\s+/).filter(Boolean).join(" ");
  }

  var rows = Array.prototype.map.call(
    document.querySelectorAll("tr.stop, #dropped tbody tr"),
    function (tr) {
      var cells = tr.cells;
      var text = cells[1] ? cells[1].textContent : "";
      if (tr.classList.contains("stop") && cells.length > 8) {
        text += " " + cells[cells.length - 1].textContent;  // villages pooled into the stop
      }
      return { tr: tr, text: fold(text), code: (tr.getAttribute("data-code") || "").toLowerCase() };
    });

  function apply() {
    var q = fold(input.value);
    var qc = q.replace(/ /g, "");
    var shown = 0;
    rows.forEach(function (r) {
      var hit = !q || r.text.indexOf(q) >= 0 || r.code.indexOf(qc) >= 0;
      r.tr.hidden = !hit;
      if (hit) { shown += 1; }
    });
    document.querySelectorAll(".team-day").forEach(function (d) {
      d.hidden = q !== "" && !d.querySelector("tr.stop:not([hidden])");
    });
    document.querySelectorAll("section.team").forEach(function (s) {
      s.hidden = q !== "" && !s.querySelector(".team-day:not([hidden])");
    });
    none.hidden = !q || shown > 0;
    count.textContent = q ? (count.getAttribute("data-label") || "").replace("__N__", String(shown)) : "";
    var url = new URL(window.location.href);
    if (input.value.trim()) { url.searchParams.set("q", input.value.trim()); } else { url.searchParams.delete("q"); }
    window.history.replaceState(null, "", url.toString());
  }

  input.addEventListener("input", apply);
  form.addEventListener("submit", function (e) { e.preventDefault(); apply(); });
  if (input.value) { apply(); }
})();
