/* Kommunalmonitor web atlas, profile page: draws the spine of each indicator row and the
   small time series from data.js (the same published values as the table). No network. */
(function () {
  "use strict";
  var A = window.ATLAS, NS = "http://www.w3.org/2000/svg";
  var root = document.documentElement, lang = root.getAttribute("data-lang") || "de";
  var i = +root.getAttribute("data-i"), T = A.text[lang];
  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) { e.setAttribute(k, attrs[k]); } }
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function fmt(v, dec) {
    return v === null || v === undefined ? "–" : new Intl.NumberFormat(lang === "de" ? "de-DE" : "en-GB",
      {minimumFractionDigits: dec, maximumFractionDigits: dec}).format(v);
  }
  /* same scale as the PDF: the city reference in the middle, the farther range end at the edge, worse left */
  function position(v, ref, worseHigh) {
    var mean = ref[0], scale = Math.max(Math.abs(mean - ref[1]), Math.abs(ref[2] - mean));
    if (v === null || v === undefined || mean === null || !(scale > 0)) { return null; }
    var p = (worseHigh ? -1 : 1) * (v - mean) / scale;
    return 100 + 92 * Math.max(-1.05, Math.min(1.05, p));
  }
  var rows = document.querySelectorAll("#ind tbody tr");
  for (var k = 0; k < rows.length && k < A.indicators.length; k++) {
    var info = A.indicators[k], ref = A.refs[info.id], cell = rows[k].lastElementChild;
    var svg = el("svg", {"class": "sp", viewBox: "0 0 200 16", role: "img",
      "aria-label": T.spine.replace("{indicator}", info[lang])}, cell);
    var lo = position(ref[1], ref, info.worse_high), hi = position(ref[2], ref, info.worse_high);
    if (lo !== null && hi !== null) { el("rect", {"class": "r", x: Math.min(lo, hi), y: 3, width: Math.abs(hi - lo), height: 10}, svg); }
    var q1 = position(ref[3], ref, info.worse_high), q3 = position(ref[4], ref, info.worse_high);
    if (q1 !== null && q3 !== null) { el("rect", {"class": "q", x: Math.min(q1, q3), y: 3, width: Math.abs(q3 - q1), height: 10}, svg); }
    el("path", {"class": "m", d: "M100 0v16"}, svg);
    var d = position(A.dist[info.id][A.district[i]], ref, info.worse_high);
    if (d !== null) { el("path", {"class": "d", d: "M" + d + " 1v14"}, svg); }
    var v = position(A.values[info.id][A.current][i], ref, info.worse_high);
    var cls = rows[k].className || "";
    if (v !== null && cls.indexOf("p") === 0) {
      var shape = cls.split(" ")[0], extra = cls.indexOf("sb") >= 0 ? " sb" : "";
      if (shape === "pw") { el("rect", {"class": shape + extra, x: v - 4, y: 4, width: 8, height: 8}, svg); }
      else if (shape === "pb") { el("path", {"class": shape + extra, d: "M" + v + " 2l6 6-6 6-6-6z"}, svg); }
      else { el("circle", {"class": shape + extra, cx: v, cy: 8, r: 4}, svg); }
    }
  }
  var box = document.getElementById("series");
  if (!box) { return; }
  A.indicators.forEach(function (info) {
    var own = A.values[info.id].map(function (per) { return per[i]; });
    if (own.filter(function (x) { return x !== null; }).length < 2) { return; }
    /* the city reference per period as the profile content computed it (the city's own rate
       where counts exist): the same line as in the PDF atlas */
    var city = A.city[info.id];
    var all = own.concat(city).filter(function (x) { return x !== null; });
    var lo = Math.min.apply(null, all), span = (Math.max.apply(null, all) - lo) || 1;
    var fig = document.createElement("figure"), cap = document.createElement("figcaption");
    cap.textContent = info[lang];
    fig.appendChild(cap);
    var svg = el("svg", {"class": "ts", viewBox: "0 0 160 60", "aria-hidden": "true"}, fig);
    [[city, "city"], [own, "area"]].forEach(function (pair) {
      var pts = [];
      pair[0].forEach(function (y, t) {
        if (y !== null) { pts.push((8 + 144 * t / Math.max(1, A.periods.length - 1)).toFixed(0) + "," + (52 - 44 * (y - lo) / span).toFixed(1)); }
      });
      if (pts.length > 1) { el("polyline", {"class": pair[1], points: pts.join(" ")}, svg); }
    });
    var text = document.createElement("p"), unit = !info.unit ? "" : (info.unit === "%" ? "%" : " " + info.unit);
    text.className = "small";
    text.textContent = A.periods.map(function (p, t) { return p + ": " + fmt(own[t], info.dec) + (own[t] === null ? "" : unit); }).join("; ") +
      " (" + (info.ref === "mean" ? T.mean : T.city) + " " + fmt(city[A.current], info.dec) +
      (city[A.current] === null ? "" : unit) + ")";
    fig.appendChild(text);
    box.appendChild(fig);
  });
}());
