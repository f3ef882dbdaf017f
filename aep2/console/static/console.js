// Live updates for the aep2 consoles: poll this page's server-rendered live part and swap it in.
// No framework and nothing from another origin: the server renders, this only fetches and replaces.
(function () {
  "use strict";
  var live = document.getElementById("live");
  var updated = document.getElementById("updated");
  var status = document.getElementById("status");
  if (!live) { return; }
  var every = Math.max(0.25, parseFloat(live.dataset.refresh || "2")) * 1000;
  var last = null;
  window.aep2Console = { refreshes: 0, changes: 0 };

  function refresh() {
    if (document.hidden) { setTimeout(refresh, every); return; }  // a background tab costs nothing
    fetch(live.dataset.src, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.status === 401 || response.status === 403) {
          status.textContent = "logged out: reload to log in again";
          status.classList.add("stale");
          return null;
        }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) {
        if (html === null) { return; }
        if (last !== null && html !== last) { window.aep2Console.changes += 1; }
        if (html !== last) { live.innerHTML = html; last = html; }
        window.aep2Console.refreshes += 1;
        updated.textContent = new Date().toISOString().replace("T", " ").slice(0, 19) + " UTC";
        status.classList.remove("stale");
        setTimeout(refresh, every);
      })
      .catch(function (error) {
        updated.textContent = "failed (" + error.message + "), retrying";
        status.classList.add("stale");
        setTimeout(refresh, every * 2);
      });
  }
  setTimeout(refresh, every);
})();
