/* Map page: a table row's name opens the village on the map without reloading the page
   (falls back to the link, /peta?code=..., which reloads and opens it).

   Village attributes: the map's village popup links to the village page (window.plannerEdit,
   read by the popup built in planner/maps.py); for coordinators each village of the table gets
   its stop point as a draggable marker in the map (the iframe's Leaflet), saved on release
   with a JSON POST carrying the page's CSRF token. A stop outside the village is saved only
   after the coordinator confirms it here. Names reach the page with textContent only. */
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

  // ------------------------------------------------------------------ village attributes
  var editUrl = frame.getAttribute("data-edit-url");
  if (editUrl) {
    window.plannerEdit = {url: editUrl, label: frame.getAttribute("data-edit-label") || ""};
  }
  var stopUrl = frame.getAttribute("data-stop-url");
  if (!stopUrl) { return; }
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.getAttribute("content") : "";
  var statusBox = document.getElementById("stop-status");
  var statusText = document.getElementById("stop-message");
  var question = document.getElementById("stop-question");
  var confirmButton = document.getElementById("stop-confirm");
  var cancelButton = document.getElementById("stop-cancel");
  var pending = null;  // {code, marker, latlng, back}: a stop outside its village, to confirm

  var hideTimer = null;
  function say(text, kind) {
    if (!statusBox) { return; }
    window.clearTimeout(hideTimer);
    if (kind === "success") {  // it lies over the map: out of the way after a while
      hideTimer = window.setTimeout(function () { statusBox.hidden = true; }, 5000);
    }
    statusBox.hidden = false;
    statusBox.className = "stop-status stop-" + (kind || "info");
    statusText.textContent = text || "";
    question.hidden = kind !== "question";
  }

  function rowOf(code) { return document.getElementById("v-" + code); }

  function save(code, marker, latlng, back, confirmed) {
    var el = marker.getElement && marker.getElement();
    var dot = el ? el.querySelector(".planner-stop-point") : null;
    if (dot) { dot.classList.add("saving"); }
    say(frame.getAttribute("data-stop-saving"), "info");
    fetch(stopUrl.replace("__CODE__", encodeURIComponent(code)), {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json",
                "X-CSRFToken": token},
      body: JSON.stringify({lat: latlng.lat, lon: latlng.lng, confirm: !!confirmed})
    }).then(function (resp) {
      return resp.json().then(function (data) { return {status: resp.status, data: data}; });
    }).then(function (r) {
      if (dot) { dot.classList.remove("saving"); }
      var data = r.data || {};
      if (data.ok) {
        marker.setLatLng([data.lat, data.lon]);
        if (dot) { dot.classList.add("manual"); }
        var row = rowOf(code);
        if (row) {
          row.setAttribute("data-lat", String(data.lat));
          row.setAttribute("data-lon", String(data.lon));
        }
        pending = null;
        say(data.message, "success");
      } else if (data.outside) {
        pending = {code: code, marker: marker, latlng: latlng, back: back};
        say(data.message, "question");
      } else {
        marker.setLatLng(back);
        say(data.error || frame.getAttribute("data-stop-error"), "error");
      }
    }).catch(function () {
      if (dot) { dot.classList.remove("saving"); }
      marker.setLatLng(back);
      say(frame.getAttribute("data-stop-error"), "error");
    });
  }

  if (confirmButton) {
    confirmButton.addEventListener("click", function () {
      if (!pending) { return; }
      var p = pending;
      pending = null;
      save(p.code, p.marker, p.latlng, p.back, true);
    });
  }
  if (cancelButton) {
    cancelButton.addEventListener("click", function () {
      if (pending) { pending.marker.setLatLng(pending.back); }
      pending = null;
      statusBox.hidden = true;
    });
  }

  function addStops(win) {
    if (!win || !win.L || !win.plannerMap || win.plannerStops) { return; }
    var L = win.L;
    var layer = L.layerGroup();
    var label = frame.getAttribute("data-stop-label") || "";
    document.querySelectorAll("#ranking tr[data-code][data-lat]").forEach(function (row) {
      var code = row.getAttribute("data-code");
      var lat = parseFloat(row.getAttribute("data-lat"));
      var lon = parseFloat(row.getAttribute("data-lon"));
      if (!code || !isFinite(lat) || !isFinite(lon)) { return; }
      var dot = win.document.createElement("div");
      dot.className = "planner-stop-point";
      dot.setAttribute("data-code", code);
      var marker = L.marker([lat, lon], {
        draggable: true, autoPan: true, keyboard: true,
        icon: L.divIcon({html: dot, className: "planner-stop-icon", iconSize: [20, 20],
                         iconAnchor: [10, 10]})
      });
      var tip = win.document.createElement("span");
      tip.textContent = (row.getAttribute("data-name") || code) + " — " + label;
      marker.bindTooltip(tip, {direction: "top", offset: [0, -8]});
      var back = null;
      marker.on("dragstart", function () { back = marker.getLatLng(); });
      marker.on("dragend", function () {
        if (pending && pending.marker !== marker) { pending.marker.setLatLng(pending.back); }
        pending = null;
        save(code, marker, marker.getLatLng(), back || marker.getLatLng(), false);
      });
      layer.addLayer(marker);
    });
    layer.addTo(win.plannerMap);
    win.plannerStops = layer;
  }

  function whenReady() {
    var tries = 0;
    (function poll() {
      var win = frame.contentWindow;
      if (win && win.L && win.plannerMap) { addStops(win); return; }
      if (++tries < 100) { window.setTimeout(poll, 100); }
    })();
  }
  frame.addEventListener("load", whenReady);
  whenReady();
})();
