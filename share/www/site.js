// The index's filter (group name contains, newest result) and its two views (cards, compact
// table). Works on the page's own rows (data-name, data-result): no server, nothing else
// downloaded. The filter is kept in the address (#q=fix&r=ko), so a filtered view can be linked.
(function () {
  "use strict";
  var name = document.getElementById("filter-name");
  var result = document.getElementById("filter-result");
  if (!name || !result) return;
  var count = document.getElementById("filter-count");
  var none = document.getElementById("filter-none");
  var toggle = document.getElementById("view-toggle");
  var items = Array.prototype.slice.call(document.querySelectorAll("[data-name]"));
  var rows = items.filter(function (el) { return el.tagName === "TR"; }).length;

  function params() {
    var out = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
      var i = kv.indexOf("=");
      if (i > 0) out[kv.slice(0, i)] = decodeURIComponent(kv.slice(i + 1));
    });
    return out;
  }

  function matches(el, q, r) {
    if (q && el.getAttribute("data-name").toLowerCase().indexOf(q) < 0) return false;
    return !r || (" " + el.getAttribute("data-result") + " ").indexOf(" " + r + " ") >= 0;
  }

  function apply() {
    var q = name.value.trim().toLowerCase(), r = result.value, shown = 0;
    items.forEach(function (el) {
      var ok = matches(el, q, r);
      el.hidden = !ok;
      if (ok && el.tagName === "TR") shown++;
    });
    count.textContent = q || r ? shown + " of " + rows + " groups" : rows + " groups";
    none.hidden = shown > 0;
    var hash = [];
    if (name.value.trim()) hash.push("q=" + encodeURIComponent(name.value.trim()));
    if (r) hash.push("r=" + encodeURIComponent(r));
    history.replaceState(null, "", hash.length ? "#" + hash.join("&") : location.pathname);
  }

  function setView(view) {
    document.body.classList.remove("view-cards", "view-compact");
    document.body.classList.add("view-" + view);
    if (toggle) {
      toggle.textContent = view === "cards" ? "compact view" : "cards view";
      toggle.setAttribute("data-other", view === "cards" ? "compact" : "cards");
    }
  }

  function fromAddress() {
    var p = params();
    name.value = p.q || "";
    result.value = p.r || "";
  }
  fromAddress();
  window.addEventListener("hashchange", function () { fromAddress(); apply(); });
  name.addEventListener("input", apply);
  result.addEventListener("change", apply);
  if (toggle) {
    var saved = null;
    try { saved = localStorage.getItem("runbot.view"); } catch (e) { saved = null; }
    if (saved === "cards" || saved === "compact") setView(saved);
    toggle.addEventListener("click", function () {
      var view = toggle.getAttribute("data-other");
      setView(view);
      try { localStorage.setItem("runbot.view", view); } catch (e) { /* private mode */ }
    });
  }
  apply();
})();
