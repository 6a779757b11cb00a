// mlplat catalog: filters the index's table by search text, team, task, environment and health.
// Plain script, no framework; without it every model is listed.
(function () {
  "use strict";
  var table = document.getElementById("models");
  if (!table) { return; }
  var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr.model"));
  var search = document.getElementById("search");
  var selects = Array.prototype.slice.call(document.querySelectorAll("select[data-filter]"));
  var count = document.getElementById("count");
  var none = document.getElementById("no-match");

  function matches(row, words) {
    var text = row.getAttribute("data-text");
    for (var i = 0; i < words.length; i++) {
      if (text.indexOf(words[i]) < 0) { return false; }
    }
    return selects.every(function (select) {
      var wanted = select.value;
      if (!wanted) { return true; }
      var have = (row.getAttribute("data-" + select.getAttribute("data-filter")) || "").split(" ");
      return have.indexOf(wanted) >= 0;
    });
  }

  function apply() {
    var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    rows.forEach(function (row) {
      var show = matches(row, words);
      row.hidden = !show;
      if (show) { shown += 1; }
    });
    count.textContent = shown + " of " + rows.length + " models";
    none.hidden = shown > 0;
  }

  search.addEventListener("input", apply);
  selects.forEach(function (select) { select.addEventListener("change", apply); });
  apply();
}());
