// openerp-runbot demo instance: shows how long ago the page was rendered.
(function () {
  "use strict";
  var rendered = Date.now();
  function tick() {
    var age = document.getElementById("age");
    if (age) {
      age.textContent = "rendered " + Math.round((Date.now() - rendered) / 1000) + " s ago";
    }
  }
  window.setInterval(tick, 1000);
})();
