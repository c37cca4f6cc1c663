// Draw the report charts from JSON embedded in the page (json_script), with Chart.js vendored locally.
(function () {
  "use strict";
  var palette = ["#1d4ed8", "#b45309", "#15803d", "#7c3aed", "#b91c1c", "#0e7490", "#4d7c0f", "#9d174d"];
  function data(canvas) {
    var el = document.getElementById(canvas.dataset.source);
    return el ? JSON.parse(el.textContent) : null;
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (!window.Chart) return;
    document.querySelectorAll("canvas[data-chart=histogram]").forEach(function (canvas) {
      var d = data(canvas);
      new Chart(canvas, {
        type: "bar",
        data: { labels: d.labels, datasets: [{ label: "First attempts", data: d.counts, backgroundColor: "#1d4ed8" }] },
        options: { animation: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
      });
    });
    document.querySelectorAll("canvas[data-chart=completions]").forEach(function (canvas) {
      var d = data(canvas);
      var sets = [{ label: "All", data: d.overall, borderColor: "#111827", borderWidth: 3 }];
      var many = Object.keys(d.departments).length > 4;  // twenty lines are unreadable: shown on demand
      Object.keys(d.departments).forEach(function (name, i) {
        sets.push({ label: name, data: d.departments[name], borderColor: palette[i % palette.length], hidden: many });
      });
      new Chart(canvas, {
        type: "line", data: { labels: d.labels, datasets: sets },
        options: { animation: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
      });
    });
  });
})();
