/* Kommunalmonitor web atlas: colours the shared map paths by indicator and period, draws the
   legend and finds areas by name. No libraries, no network: the data comes from data.js. */
(function () {
  "use strict";
  var A = window.ATLAS;
  var lang = document.documentElement.getAttribute("data-lang") || "de";
  var T = A.text[lang];
  var ind = document.getElementById("ind"), per = document.getElementById("per");
  var q = document.getElementById("q"), hits = document.getElementById("hits");
  var paths = document.querySelectorAll("#map path");
  var fmtCache = {};

  function fmt(v, dec) {
    if (v === null || v === undefined) { return T.nodata; }
    var key = dec;
    if (!fmtCache[key]) {
      fmtCache[key] = new Intl.NumberFormat(lang === "de" ? "de-DE" : "en-GB",
        {minimumFractionDigits: dec, maximumFractionDigits: dec});
    }
    return fmtCache[key].format(v);
  }
  function indicator(id) {
    for (var k = 0; k < A.indicators.length; k++) { if (A.indicators[k].id === id) { return A.indicators[k]; } }
    return A.indicators[0];
  }
  function classOf(v, breaks) {
    if (v === null || v === undefined) { return -1; }
    var k = 0;
    while (k < breaks.length && v > breaks[k]) { k++; }
    return k;
  }
  function readHash() {
    var parts = (window.location.hash || "").replace(/^#/, "").split("&"), out = {};
    for (var k = 0; k < parts.length; k++) {
      var kv = parts[k].split("=");
      if (kv.length === 2) { out[kv[0]] = decodeURIComponent(kv[1]); }
    }
    return out;
  }
  function draw() {
    var info = indicator(ind.value), p = A.periods.indexOf(per.value);
    var values = A.values[info.id][p], breaks = A.breaks[info.id];
    var unit = !info.unit ? "" : (info.unit === "%" ? "%" : " " + info.unit);  /* as the profiles print it */
    for (var k = 0; k < paths.length; k++) {
      var i = +paths[k].getAttribute("data-i"), v = values[i], c = classOf(v, breaks);
      paths[k].style.fill = c < 0 ? A.nodata : A.colours[c];
      paths[k].parentNode.setAttribute("aria-label", A.names[i] + ": " + (v === null ? T.nodata : fmt(v, info.dec) + unit));
    }
    var items = document.getElementById("legenditems");
    items.textContent = "";
    var n = breaks.length + 1;
    for (var c = 0; c < n; c++) {
      var lo = c === 0 ? null : breaks[c - 1], hi = c === breaks.length ? null : breaks[c];
      var text = lo === null ? T.upto + " " + fmt(hi, info.dec) : (hi === null ? T.above + " " + fmt(lo, info.dec)
        : fmt(lo, info.dec) + " – " + fmt(hi, info.dec));
      addItem(items, A.colours[c], text + unit);
    }
    addItem(items, A.nodata, T.nodata);
    document.getElementById("legendname").textContent = info[lang] + " (" + per.value + "). " +
      (info.worse_high ? T.worse_high : T.better_high);
    var hash = "#ind=" + encodeURIComponent(info.id) + "&per=" + encodeURIComponent(per.value);
    if (window.history && window.history.replaceState) { window.history.replaceState(null, "", hash); }
    var sw = document.getElementById("langswitch");
    if (sw) { sw.setAttribute("href", sw.getAttribute("href").split("#")[0] + hash); }
  }
  function addItem(list, colour, text) {
    var li = document.createElement("li"), sw = document.createElement("span");
    sw.className = "swatch";
    sw.style.background = colour;
    sw.setAttribute("aria-hidden", "true");
    li.appendChild(sw);
    li.appendChild(document.createTextNode(" " + text));
    list.appendChild(li);
  }
  function plain(s) {
    return String(s).toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/ß/g, "ss");
  }
  /* German spelling without umlaut keys: 'Gueterbahnhof' finds 'Güterbahnhof' */
  function spelled(s) {
    return plain(String(s).toLowerCase().replace(/ä/g, "ae").replace(/ö/g, "oe").replace(/ü/g, "ue"));
  }
  var plainNames = A.names.map(plain), spelledNames = A.names.map(spelled);
  var MAX_HITS = 12;
  function search() {
    var term = plain(q.value.trim()), term2 = spelled(q.value.trim());
    /* an id typed without its leading zeros (spreadsheets drop them): '1100101' finds '01100101' */
    var digits = /^[0-9]+$/.test(term) ? term.replace(/^0+/, "") : null;
    hits.textContent = "";
    if (!term) { return []; }
    var found = [], more = false;
    for (var i = 0; i < A.names.length; i++) {
      var id = String(A.ids[i]);
      if (plainNames[i].indexOf(term) >= 0 || spelledNames[i].indexOf(term2) >= 0 || id.indexOf(term) === 0 ||
          (digits && id.replace(/^0+/, "").indexOf(digits) === 0)) {
        if (found.length === MAX_HITS) { more = true; break; }
        found.push(i);
      }
    }
    for (var k = 0; k < found.length; k++) {
      var li = document.createElement("li"), a = document.createElement("a");
      a.href = "profiles/" + encodeURIComponent(A.ids[found[k]]) + ".html";
      a.textContent = A.names[found[k]] + " (" + A.ids[found[k]] + ")";
      li.appendChild(a);
      hits.appendChild(li);
    }
    if (more) {  /* say that the list is cut, so a missing area is not taken for absent */
      var rest = document.createElement("li");
      rest.textContent = T.more;
      hits.appendChild(rest);
    }
    if (!found.length) {
      var none = document.createElement("li");
      none.textContent = T.nohits;
      hits.appendChild(none);
    }
    return found;
  }
  var h = readHash();
  if (h.ind && A.values[h.ind]) { ind.value = h.ind; }
  if (h.per && A.periods.indexOf(h.per) >= 0) { per.value = h.per; }
  ind.addEventListener("change", draw);
  per.addEventListener("change", draw);
  q.addEventListener("input", search);
  q.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter") {
      var found = search();
      if (found.length) { window.location.href = "profiles/" + encodeURIComponent(A.ids[found[0]]) + ".html"; }
    }
  });
  draw();
}());
