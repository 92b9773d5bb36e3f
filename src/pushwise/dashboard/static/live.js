// Live overview: numbers and chart arrive over Server-Sent Events; no reload, no libraries.
(function () {
  var live = document.getElementById("live");
  if (!live || !window.EventSource) return;
  var status = document.getElementById("live-status");
  var source = new EventSource(live.dataset.source);
  source.addEventListener("open", function () { status.textContent = "live"; });
  source.addEventListener("error", function () { status.textContent = "reconnecting"; });
  source.addEventListener("overview", function (event) {
    var data = JSON.parse(event.data);
    live.querySelectorAll("[data-metric]").forEach(function (node) {
      var value = data[node.dataset.metric];
      if (value !== undefined && node.textContent !== value) node.textContent = value;
    });
    document.getElementById("chart").innerHTML = data.chart;
    status.textContent = "live · " + new Date().toLocaleTimeString();
  });
})();
