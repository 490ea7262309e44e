// Keyboard moves in the staff queue: J/K select the next/previous case, Enter opens it;
// and the print button of the printed notices, shown only when this script runs.
// The console works without this script; it only saves reaching for the mouse.
(function () {
  "use strict";
  var buttons = document.querySelectorAll("[data-print]");
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].hidden = false;
    buttons[i].addEventListener("click", function () { window.print(); });
  }
}());
(function () {
  "use strict";
  var table = document.getElementById("queue");
  if (!table) { return; }
  var links = table.querySelectorAll("tbody a");
  var at = -1;
  function select(i) {
    if (!links.length) { return; }
    at = Math.max(0, Math.min(links.length - 1, i));
    links[at].focus();
  }
  document.addEventListener("keydown", function (e) {
    var tag = (e.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || e.altKey || e.ctrlKey || e.metaKey) { return; }
    if (e.key === "j") { select(at + 1); e.preventDefault(); }
    if (e.key === "k") { select(at - 1); e.preventDefault(); }
  });
}());
