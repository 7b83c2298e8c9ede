import Gantt

/// The live status page `run --listen` serves at `/`: one self-contained HTML file (no
/// external asset) whose inline script follows `/events` (Server-Sent Events, the JSON of
/// `/api/status`) and redraws without reloading: the phase, overall and per-cluster
/// progress bars (VMs, bytes, rate, ETA), the running tasks with their %, host and
/// datastores, the copy rate over time, and the latest failures and skips with their reasons.
///
/// Every figure is put in the page with `textContent`, never parsed as HTML, so a VM
/// named `<script>` is shown as written. The token the page was opened with
/// (`/?token=…`) is passed on to `/events`; it is never written into the page.
///
/// Below them, the timeline so far: the Gantt chart `plan --out` draws (`Gantt`), fed from
/// `/api/timeline` every 5 s and redrawn in place (`window.mmTimeline.update`), keeping the
/// reader's zoom and scroll.
///
/// DOM contract (the browser test reads it): `#phase`, `#overall-vms`, `#overall-bytes`,
/// `#overall-rate`, `#overall-eta`, `#clusters` (one `tr.cluster` per cluster, with
/// `data-name`, `data-done`, `data-jobs`), `#running` (one `tr.task` per running task, with
/// `data-vm`), `#running-count`, `#failures` (one `li` per failure), `#updated`, and the
/// chart's `#timeline-data` and `canvas#chart` (`body[data-timeline-bars]`: bars drawn so far).
/// `?snapshot` in the address draws the run once and closes the stream: headless Chromium
/// dumps a page only once its streams have ended, and a screenshot wants one moment.
enum StatusPage {
    /// The page's Content-Security-Policy: inline script and style only, fetches to itself.
    static let contentSecurityPolicy = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:"

    /// The page, with the timeline's data as of now embedded (later updates come from
    /// `/api/timeline`).
    static func html(timeline: String) -> String {
        var page = head
        page.reserveCapacity(head.utf8.count + timeline.utf8.count + 40_000)
        page += "<style>" + Gantt.style + chartOverrides + "</style>\n"
        page += top
        page += "<h2>Timeline</h2>\n<section id=\"gantt\">\n<p class=\"legend\">" + Gantt.legend(kinds: LiveTimeline.kinds) + "</p>\n"
        page += Gantt.controls(groupBy: .host) + "\n" + Gantt.body + "\n</section>\n"
        page += "</div>\n<script type=\"application/json\" id=\"timeline-data\">" + timeline + "</script>\n"
        page += "<script>\n" + Gantt.script + "</script>\n"
        page += bottom
        return page
    }

    /// The chart's style sheet is made for a page of its own; here it is one section.
    static let chartOverrides = "html,body{height:auto}body{display:block;background:#fafafa}header{padding:10px 16px;border-bottom:1px solid #ddd;background:#fff}"
        + "h1{font-size:18px;margin:0}p{margin:2px 0}"
        + "#gantt{background:#fff;border:1px solid #ddd;padding:6px}#wrap{height:460px;flex:none}"

    static let head = #"""
    <!DOCTYPE html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>moonmotion — live status</title>
    <style>
    *{box-sizing:border-box}
    body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#222;background:#fafafa;margin:0}
    header{background:#fff;border-bottom:1px solid #ddd;padding:10px 16px}
    h1{font-size:18px;margin:0}h2{font-size:15px;margin:18px 0 6px}
    .content{padding:4px 16px 24px;max-width:1400px}
    .sub{color:#555}
    .phase{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;font-size:12px;margin-left:8px;vertical-align:2px}
    .phase-dispatching{background:#dbe8fb;color:#1a4c99}.phase-draining{background:#fdebc8;color:#8a5300}
    .phase-done{background:#d6f0dd;color:#1d6b35}.phase-starting,.phase-interrupted{background:#eee;color:#444}
    .cards{display:flex;gap:12px;flex-wrap:wrap;margin-top:10px}
    .card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:150px}
    .card b{display:block;font-size:20px}
    .bar{position:relative;height:14px;background:#e8e8e8;border-radius:7px;overflow:hidden;min-width:120px}
    .bar i{position:absolute;left:0;top:0;bottom:0;background:#3a6fc4}
    .bar.failed i{background:#d93025}
    td .bar{display:inline-block;width:75%;vertical-align:middle}
    table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #ddd}
    th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eee;white-space:nowrap}
    th{background:#f3f3f3;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
    #failures{background:#fff;border:1px solid #ddd;margin:0;padding:6px 6px 6px 28px;max-height:260px;overflow:auto}
    #failures li{margin:2px 0;overflow-wrap:anywhere}
    #rate-chart{background:#fff;border:1px solid #ddd;width:100%;height:160px}
    .muted{color:#777}
    </style>
    """#

    static let top = #"""
    </head>
    <body>
    <header>
    <h1><span id="title">moonmotion</span><span id="phase" class="phase">connecting…</span></h1>
    <div class="sub"><span id="vcenter"></span> · started <span id="started">—</span> · <span id="elapsed">—</span> elapsed · updated <span id="updated">—</span></div>
    <div class="cards">
    <div class="card">VMs done<b id="overall-vms">—</b><div class="bar"><i id="overall-vms-bar"></i></div></div>
    <div class="card">copied<b id="overall-bytes">—</b><div class="bar"><i id="overall-bytes-bar"></i></div></div>
    <div class="card">rate<b id="overall-rate">—</b></div>
    <div class="card">ETA<b id="overall-eta">—</b></div>
    <div class="card">running<b id="running-count">—</b></div>
    <div class="card">failed / skipped<b id="overall-failed">—</b></div>
    </div>
    </header>
    <div class="content">
    <h2>Clusters</h2>
    <table><thead><tr><th>cluster</th><th>VMs</th><th style="width:30%">progress</th><th>copied</th><th>rate</th><th>ETA</th><th>running</th><th>failed</th><th>skipped</th></tr></thead>
    <tbody id="clusters"></tbody></table>
    <h2>Copy rate</h2>
    <canvas id="rate-chart" width="1200" height="160"></canvas>
    <h2>Running tasks</h2>
    <table><thead><tr><th>VM</th><th>cluster</th><th>kind</th><th style="width:18%">progress</th><th>size</th><th>host</th><th>datastores</th><th>running for</th></tr></thead>
    <tbody id="running"></tbody></table>
    <h2>Latest failures and skips</h2>
    <ol id="failures"></ol>
    """#

    static let bottom = #"""
    <script>
    (function () {
    "use strict";
    function $(id) { return document.getElementById(id); }
    // As ByteUnits.format (VCenterModel), so the page reads as every command and the report:
    // IEC units with one decimal; 1,000 or more of a unit go up one, with two decimals.
    var byteUnits = [["PiB", Math.pow(2, 50)], ["TiB", Math.pow(2, 40)], ["GiB", Math.pow(2, 30)],
                     ["MiB", Math.pow(2, 20)], ["KiB", 1024]];
    function bytes(b) {
      var m = Math.abs(b);
      for (var k = 0; k < byteUnits.length; k++) {
        if (m < byteUnits[k][1]) continue;
        if (m / byteUnits[k][1] >= 999.95 && k > 0) return (b / byteUnits[k - 1][1]).toFixed(2) + " " + byteUnits[k - 1][0];
        return (b / byteUnits[k][1]).toFixed(1) + " " + byteUnits[k][0];
      }
      return Math.round(b) + " B";
    }
    function rate(r) { return bytes(r) + "/s"; }
    function duration(s) {
      if (s === null || s === undefined || !isFinite(s)) return "—";
      s = Math.max(0, Math.round(s));
      var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), x = s % 60;
      return h > 0 ? h + "h" + String(m).padStart(2, "0") + "m" : m > 0 ? m + "m" + String(x).padStart(2, "0") + "s" : x + "s";
    }
    function text(el, t) { el.textContent = t; return el; }
    function cell(tr, t, cls) { var td = document.createElement("td"); td.textContent = t; if (cls) td.className = cls; tr.appendChild(td); return td; }
    function bar(tr, fraction) {
      var td = document.createElement("td"), b = document.createElement("div"), i = document.createElement("i");
      b.className = "bar"; i.style.width = (Math.max(0, Math.min(1, fraction)) * 100).toFixed(1) + "%";
      b.appendChild(i); td.appendChild(b); tr.appendChild(td); return td;
    }
    var samples = [];
    function drawRate() {
      var c = $("rate-chart"), ctx = c.getContext("2d"), w = c.width, h = c.height;
      ctx.clearRect(0, 0, w, h);
      if (samples.length < 2) { ctx.fillStyle = "#777"; ctx.font = "13px sans-serif"; ctx.fillText("collecting…", 10, 20); return; }
      var t0 = samples[0][0], t1 = samples[samples.length - 1][0], max = 1;
      samples.forEach(function (s) { if (s[1] > max) max = s[1]; });
      ctx.strokeStyle = "#3a6fc4"; ctx.lineWidth = 2; ctx.beginPath();
      samples.forEach(function (s, k) {
        var x = 50 + (w - 60) * (s[0] - t0) / Math.max(1, t1 - t0), y = h - 20 - (h - 30) * s[1] / max;
        if (k === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      });
      ctx.stroke();
      ctx.fillStyle = "#555"; ctx.font = "12px sans-serif";
      ctx.fillText(rate(max), 4, 14); ctx.fillText("0", 4, h - 20);
      ctx.fillText(duration(t1 - t0) + " shown", w - 110, h - 4);
    }
    function show(s) {
      text($("title"), s.strategy);
      var phase = $("phase");
      text(phase, s.phase + (s.outcome ? " (" + s.outcome + ")" : ""));
      phase.className = "phase phase-" + s.phase;
      text($("vcenter"), s.vcenter);
      text($("started"), s.startedAt ? new Date(s.startedAt).toLocaleString() : "—");
      text($("elapsed"), duration(s.elapsed));
      text($("updated"), new Date(s.now).toLocaleTimeString());
      var o = s.overall;
      text($("overall-vms"), o.done + " / " + o.jobs);
      $("overall-vms-bar").style.width = (o.jobs ? 100 * (o.done + o.failed + o.skipped) / o.jobs : 100).toFixed(1) + "%";
      text($("overall-bytes"), bytes(o.bytesDone) + " / " + bytes(o.bytesTotal));
      $("overall-bytes-bar").style.width = (100 * o.fraction).toFixed(1) + "%";
      text($("overall-rate"), rate(o.rate));
      // The forecast's ETA is the one to believe; bytes left ÷ rate (before the first
      // forecast) is labelled as such.
      text($("overall-eta"), s.phase === "done" ? "—" : duration(o.eta) + (o.etaSource === "rate" && o.eta ? " (rate)" : ""));
      $("overall-eta").title = o.predictedEnd ? "ends " + o.predictedEnd + (o.etaSource === "forecast" ? " (forecast)" : " (rate)") : "";
      text($("running-count"), String(o.running));
      text($("overall-failed"), o.failed + " / " + o.skipped);

      var tbody = $("clusters"); tbody.textContent = "";
      s.clusters.forEach(function (c) {
        var t = c.totals, tr = document.createElement("tr");
        tr.className = "cluster"; tr.dataset.name = c.name; tr.dataset.done = t.done; tr.dataset.jobs = t.jobs;
        cell(tr, c.name); cell(tr, t.done + " / " + t.jobs, "num"); bar(tr, t.fraction);
        cell(tr, bytes(t.bytesDone) + " / " + bytes(t.bytesTotal), "num"); cell(tr, rate(t.rate), "num");
        cell(tr, duration(t.eta) + (t.etaSource === "rate" && t.eta ? " (rate)" : ""), "num"); cell(tr, String(t.running), "num"); cell(tr, String(t.failed), "num"); cell(tr, String(t.skipped), "num");
        tbody.appendChild(tr);
      });

      var run = $("running"); run.textContent = "";
      var now = new Date(s.now).getTime();
      s.running.forEach(function (t) {
        var tr = document.createElement("tr");
        tr.className = "task"; tr.dataset.vm = t.vm;
        cell(tr, t.vm); cell(tr, t.cluster || ""); cell(tr, t.kind);
        var td = bar(tr, (t.percent || 0) / 100);
        td.appendChild(document.createTextNode(t.percent === null || t.percent === undefined ? " …" : " " + t.percent + "%"));
        cell(tr, bytes(t.size), "num");
        cell(tr, (t.host || "") + (t.destinationHost ? " → " + t.destinationHost : ""));
        cell(tr, t.destinationDatastore ? t.sourceDatastores.join("+") + " → " + t.destinationDatastore : t.route);
        cell(tr, t.startedAt ? duration((now - new Date(t.startedAt).getTime()) / 1000) : "", "num");
        run.appendChild(tr);
      });
      if (s.running.length === 0) { var tr = document.createElement("tr"); cell(tr, s.phase === "done" ? "the run has ended" : "none", "muted").colSpan = 8; run.appendChild(tr); }

      var fl = $("failures"); fl.textContent = "";
      s.failures.slice().reverse().forEach(function (f) { fl.appendChild(text(document.createElement("li"), f)); });
      if (s.failures.length === 0) fl.appendChild(text(document.createElement("li"), "none"));

      var t = new Date(s.now).getTime() / 1000;
      if (!samples.length || t > samples[samples.length - 1][0]) samples.push([t, o.rate]);
      if (samples.length > 3600) samples.shift();
      drawRate();
      document.body.dataset.phase = s.phase;
    }
    var params = new URLSearchParams(location.search);
    var token = params.get("token");
    // ?snapshot: show the run once and stop updating (a screenshot, a print, a headless browser,
    // which waits for open streams to end before it dumps the page).
    var snapshot = params.has("snapshot");
    var timelineURL = "api/timeline" + (token ? "?token=" + encodeURIComponent(token) : "");
    function markBars() {
      var d = JSON.parse(document.getElementById("timeline-data").textContent);
      document.body.dataset.timelineBars = String(d.k.length);
    }
    markBars();
    var timelineTimer = setInterval(function () {
      fetch(timelineURL, {cache: "no-store"}).then(function (r) { return r.ok ? r.json() : null; }).then(function (d) {
        if (!d || !window.mmTimeline) return;
        window.mmTimeline.update(d);
        document.body.dataset.timelineBars = String(d.k.length);
        if (document.body.dataset.phase === "done") clearInterval(timelineTimer);
      }).catch(function () {});
    }, 5000);
    var url = "events" + (token ? "?token=" + encodeURIComponent(token) : "");
    var source = new EventSource(url);
    source.onmessage = function (e) {
      var s = JSON.parse(e.data);
      show(s);
      if (s.phase === "done" || snapshot) {
        source.close();
        if (snapshot) clearInterval(timelineTimer);
      }
    };
    source.onerror = function () {
      if (document.body.dataset.phase !== "done") text($("updated"), "connection lost; retrying…");
    };
    })();
    </script>
    </body>
    </html>
    """#
}
