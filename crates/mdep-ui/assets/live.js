// mdep ui: live refresh without a full reload. Every element with `data-live="MS"`
// is fetched again every MS milliseconds: the same address, with the header
// `mdep-fragment: <element id>`, to which the server answers that element's inner
// HTML only (rendered and escaped on the server). Nothing else runs on the page.
(function () {
  "use strict";
  var status = document.getElementById("live-status");
  function say(text, ok) {
    if (status) {
      status.textContent = text;
      status.className = ok ? "live ok" : "live stale";
    }
  }
  function refresh(el) {
    fetch(window.location.pathname + window.location.search, {
      headers: { "mdep-fragment": el.id },
      credentials: "same-origin",
      cache: "no-store",
    })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.text();
      })
      .then(function (html) {
        el.innerHTML = html;
        el.setAttribute("data-refreshed", String(Date.now()));
        say("live: updated " + new Date().toLocaleTimeString(), true);
      })
      .catch(function (e) {
        say("live: not updated (" + e.message + ")", false);
      });
  }
  var live = document.querySelectorAll("[data-live]");
  Array.prototype.forEach.call(live, function (el) {
    var every = Math.max(1000, parseInt(el.getAttribute("data-live"), 10) || 3000);
    setInterval(function () {
      if (!document.hidden) refresh(el);
    }, every);
  });
  if (live.length) say("live: every few seconds", true);
})();
