// Turns the absolute times of index.html into ages ("3 min ago"), so the HTML itself does
// not change with the clock and an idle tick rewrites nothing.
(function () {
  function human(s) {
    s = Math.max(0, s);
    if (s < 60) return "<1 min";
    if (s < 3600) return Math.floor(s / 60) + " min";
    if (s < 172800) return Math.floor(s / 3600) + " h";
    return Math.floor(s / 86400) + " d";
  }
  function update() {
    var now = Date.now() / 1000;
    document.querySelectorAll("time.age").forEach(function (t) {
      t.title = t.getAttribute("datetime");
      t.textContent = human(now - Date.parse(t.getAttribute("datetime")) / 1000) + " ago";
    });
    document.querySelectorAll("time.since").forEach(function (t) {
      t.textContent = "building " + human(now - Date.parse(t.getAttribute("datetime")) / 1000);
    });
  }
  update();
  setInterval(update, 30000);
})();
