/* Map page: a table row's name opens the village on the map without reloading the page
   (falls back to the link, /peta?code=..., which reloads and opens it). */
(function () {
  "use strict";
  var frame = document.getElementById("map-frame");
  if (!frame) { return; }
  function highlight(code) {
    document.querySelectorAll("#ranking tr.highlight").forEach(function (tr) {
      tr.classList.remove("highlight");
    });
    var row = document.getElementById("v-" + code);
    if (row) { row.classList.add("highlight"); }
  }
  document.addEventListener("click", function (ev) {
    var a = ev.target.closest ? ev.target.closest("a.map-focus") : null;
    if (!a) { return; }
    var win = frame.contentWindow;
    var code = a.getAttribute("data-code");
    if (win && typeof win.plannerFocus === "function" && win.plannerFocus(code)) {
      ev.preventDefault();
      highlight(code);
      if (window.history && window.history.replaceState) {
        window.history.replaceState(null, "", a.getAttribute("href"));
      }
    }
  });
})();
