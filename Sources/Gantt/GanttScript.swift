extension Gantt {
    /// The inline script: decodes the columnar data (`Gantt.dataJSON`) from the element
    /// `#timeline-data`, lays each row's tasks out in lanes (greedy: the first lane free at
    /// the task's queue time), and draws only what is visible on a canvas, batching bars by
    /// colour. Names are drawn with `fillText` and shown with `textContent`, never parsed as
    /// HTML. The page needs the elements `#scroller`, `#spacer`, `#chart`, `#tip`, `#group`
    /// and the buttons `#zoom-in`, `#zoom-out`, `#zoom-fit` (`Gantt.controls`, `Gantt.body`).
    ///
    /// `window.mmTimeline.update(data)` replaces the data with a newer document of the same
    /// shape (the live status page's growing timeline): the rows are laid out again, the
    /// scroll position is kept, and a chart that was fitted to the whole run stays fitted.
    ///
    /// Change windows (the data's `win`) are drawn as green bands behind the bars, each close a
    /// dashed line; `canvas#chart[data-window-bands]` says how many bands the last frame drew.
    public static let script = #"""
    (function () {
    "use strict";
    var D = null;
    var KIND_LABEL = {storageVMotion: "Storage vMotion", vMotion: "vMotion", hostAndStorageVMotion: "vMotion + Storage vMotion",
      consolidateDisks: "Consolidate disks", removeSnapshot: "Remove snapshot", power: "Power on/off"};
    var KIND_COLOR = {storageVMotion: "#3a6fc4", vMotion: "#2f9e5a", hostAndStorageVMotion: "#8756c4",
      consolidateDisks: "#e0861b", removeSnapshot: "#a8900f", power: "#8a8a8a"};
    var LABEL_W = 170, AXIS_H = 26, LANE = 10, BAR = 8, PAD = 3, HEADER_H = 20, RIGHT_PAD = 40;

    var COLORS = [], FAILED = 0, n = 0, i, Q, S, E, C, VM, F, CL, END = 60, WIN = [];
    function load(data) {
      D = data;
      WIN = D.win || [];
      COLORS = D.kinds.map(function (k) { return KIND_COLOR[k] || "#555"; });
      FAILED = COLORS.length;
      COLORS.push("#d93025");
      n = D.k.length;
      Q = new Float64Array(n); S = new Float64Array(n); E = new Float64Array(n); C = new Uint8Array(n);
      VM = new Int32Array(n); F = new Int32Array(n).fill(-1); CL = new Int32Array(n);
      var acc = 0, prev = -1;
      for (i = 0; i < D.fail.length; i += 2) F[D.fail[i]] = D.fail[i + 1];
      for (i = 0; i < n; i++) {
        prev = VM[i] = prev + 1 + D.vmd[i];
        CL[i] = D.sh[i] >= 0 ? D.hc[D.sh[i]] : D.dh[i] >= 0 ? D.hc[D.dh[i]] : -1;
      }
      for (i = 0; i < D.clx.length; i += 2) CL[D.clx[i]] = D.clx[i + 1];
      for (i = 0; i < n; i++) {
        acc += D.dq[i];
        Q[i] = acc / 10;
        S[i] = D.ds[i] < 0 ? -1 : (acc + D.ds[i]) / 10;
        E[i] = D.de[i] < 0 ? Math.max(D.now, S[i] < 0 ? Q[i] : S[i]) : (acc + D.ds[i] + D.de[i]) / 10;
        C[i] = F[i] >= 0 ? FAILED : D.k[i];
      }
      END = D.end;
      for (i = 0; i < n; i++) if (E[i] > END) END = E[i];
      if (!(END > 0)) END = 60;
    }

    var scroller = document.getElementById("scroller"), spacer = document.getElementById("spacer");
    var canvas = document.getElementById("chart"), ctx = canvas.getContext("2d"), tip = document.getElementById("tip");
    var select = document.getElementById("group");
    var rows = [], totalH = 0, pps = 1, hover = -1, pending = false;

    function sourceDatastores(t) { var v = D.sd[t]; return typeof v === "number" ? (v >= 0 ? [v] : []) : v; }

    function buildRows(group) {
      var list = [], rowOfHost = [], rowOfDs = [], rowOfCluster = [], r, c, h, t;
      if (group === "host") {
        var byCluster = D.clusters.map(function () { return []; });
        for (h = 0; h < D.hosts.length; h++) byCluster[D.hc[h]].push(h);
        for (c = 0; c < byCluster.length; c++) {
          if (!byCluster[c].length) continue;
          list.push({header: true, label: D.clusters[c]});
          for (r = 0; r < byCluster[c].length; r++) {
            h = byCluster[c][r];
            rowOfHost[h] = list.length;
            list.push({label: D.hosts[h], sub: D.clusters[c], ids: []});
          }
        }
        for (t = 0; t < n; t++) {
          if (D.sh[t] >= 0) list[rowOfHost[D.sh[t]]].ids.push(t);
          if (D.dh[t] >= 0 && D.dh[t] !== D.sh[t]) list[rowOfHost[D.dh[t]]].ids.push(t);
        }
      } else if (group === "datastore") {
        for (r = 0; r < D.datastores.length; r++) { rowOfDs[r] = list.length; list.push({label: D.datastores[r], ids: []}); }
        for (t = 0; t < n; t++) {
          var src = sourceDatastores(t);
          for (r = 0; r < src.length; r++) list[rowOfDs[src[r]]].ids.push(t);
          if (D.dd[t] >= 0 && src.indexOf(D.dd[t]) < 0) list[rowOfDs[D.dd[t]]].ids.push(t);
        }
      } else {
        for (c = 0; c < D.clusters.length; c++) { rowOfCluster[c] = list.length; list.push({label: D.clusters[c], ids: []}); }
        for (t = 0; t < n; t++) if (CL[t] >= 0) list[rowOfCluster[CL[t]]].ids.push(t);
      }
      var y = 0;
      for (r = 0; r < list.length; r++) {
        var row = list[r];
        row.y = y;
        if (row.header) { row.h = HEADER_H; y += row.h; continue; }
        row.ids.sort(function (a, b) { return Q[a] - Q[b] || a - b; });
        var laneEnd = [], lanes = [];
        for (var k = 0; k < row.ids.length; k++) {
          t = row.ids[k];
          var L = 0;
          while (L < laneEnd.length && laneEnd[L] > Q[t]) L++;
          if (L === laneEnd.length) { laneEnd.push(0); lanes.push([]); }
          laneEnd[L] = E[t];
          lanes[L].push(t);
        }
        row.lanes = lanes.map(function (ids) {
          var a = Int32Array.from(ids), e = new Float64Array(a.length);
          for (var j = 0; j < a.length; j++) e[j] = E[a[j]];
          return {ids: a, ends: e};
        });
        row.count = row.ids.length;
        row.ids = null;
        row.h = PAD * 2 + Math.max(1, lanes.length) * LANE;
        y += row.h;
      }
      rows = list;
      totalH = y;
    }

    function plotWidth() { return Math.max(50, scroller.clientWidth - LABEL_W); }
    function maxPps() { return Math.min(400, 8e6 / END); }
    function fitPps() { return Math.min(maxPps(), (plotWidth() - RIGHT_PAD) / END); }
    function setPps(p) { pps = Math.max(fitPps() / 4, Math.min(maxPps(), p)); layout(); }
    function layout() {
      spacer.style.width = Math.ceil(LABEL_W + END * pps + RIGHT_PAD) + "px";
      spacer.style.height = Math.ceil(AXIS_H + totalH + 12) + "px";
    }
    function zoomAt(factor, px) {
      var sx = scroller.scrollLeft, t = (px - LABEL_W + sx) / pps;
      setPps(pps * factor);
      scroller.scrollLeft = Math.max(0, t * pps - (px - LABEL_W));
      request();
    }

    function lowerBound(arr, x) {
      var lo = 0, hi = arr.length;
      while (lo < hi) { var mid = (lo + hi) >> 1; if (arr[mid] < x) lo = mid + 1; else hi = mid; }
      return lo;
    }
    function rowAt(y) {
      var lo = 0, hi = rows.length - 1;
      while (lo < hi) { var mid = (lo + hi + 1) >> 1; if (rows[mid].y <= y) lo = mid; else hi = mid - 1; }
      return lo;
    }

    var STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];
    function two(v) { return v < 10 ? "0" + v : "" + v; }
    function tick(t, step) {
      var h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = Math.round(t % 60);
      if (step >= 3600 && t % 3600 === 0) return h + "h";
      if (step >= 60) return h + "h" + two(m);
      return h + ":" + two(m) + ":" + two(s);
    }
    function duration(sec) {
      if (sec < 60) return (sec < 10 && sec !== Math.round(sec) ? sec.toFixed(1) : Math.round(sec)) + "s";
      var s = Math.round(sec);
      if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
      var m = Math.round(sec / 60);
      if (m < 1440) return Math.floor(m / 60) + "h " + (m % 60) + "m";
      return Math.floor(m / 1440) + "d " + Math.floor((m % 1440) / 60) + "h " + (m % 60) + "m";
    }
    function offset(sec) {
      var s = Math.round(sec), h = Math.floor(s / 3600);
      return "+" + h + ":" + two(Math.floor((s % 3600) / 60)) + ":" + two(s % 60);
    }
    function size(mb) {
      if (mb >= 1048576) return (mb / 1048576).toFixed(1) + " TiB";
      if (mb >= 1024) return (mb / 1024).toFixed(1) + " GiB";
      return mb + " MiB";
    }
    function wall(sec) {
      var d = new Date(D.t0 + sec * 1000);
      return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " + two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds());
    }
    function fit(text, width) {
      if (ctx.measureText(text).width <= width) return text;
      var lo = 0, hi = text.length;
      while (lo < hi) { var mid = (lo + hi + 1) >> 1; if (ctx.measureText(text.slice(0, mid) + "…").width <= width) lo = mid; else hi = mid - 1; }
      return text.slice(0, lo) + "…";
    }

    function request() { if (!pending) { pending = true; requestAnimationFrame(draw); } }

    function draw() {
      pending = false;
      var W = scroller.clientWidth, H = scroller.clientHeight, dpr = window.devicePixelRatio || 1;
      if (canvas.width !== Math.round(W * dpr) || canvas.height !== Math.round(H * dpr)) {
        canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
        canvas.style.width = W + "px"; canvas.style.height = H + "px";
      }
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, H);
      var sx = scroller.scrollLeft, sy = scroller.scrollTop;
      var t0 = sx / pps, t1 = (sx + W - LABEL_W) / pps;
      function X(t) { return LABEL_W + t * pps - sx; }
      var first = rows.length ? rowAt(sy) : 0, last = first, r, row, y;
      for (r = first; r < rows.length && AXIS_H + rows[r].y - sy < H; r++) {
        row = rows[r]; y = AXIS_H + row.y - sy; last = r;
        if (row.header) { ctx.fillStyle = "#eef1f5"; ctx.fillRect(0, y, W, row.h); }
        else if (r % 2) { ctx.fillStyle = "#f8f8f8"; ctx.fillRect(0, y, W, row.h); }
      }
      var step = STEPS[STEPS.length - 1];
      for (var s = 0; s < STEPS.length; s++) if (STEPS[s] * pps >= 90) { step = STEPS[s]; break; }
      ctx.strokeStyle = "#e2e2e2"; ctx.lineWidth = 1; ctx.beginPath();
      var tk;
      for (tk = Math.floor(t0 / step) * step; tk <= t1; tk += step) { var gx = Math.round(X(tk)) + 0.5; ctx.moveTo(gx, AXIS_H); ctx.lineTo(gx, H); }
      ctx.stroke();
      // Change windows behind the bars: a band while open, a dashed line where each closes.
      var bands = 0;
      for (var wi = 0; wi + 1 < WIN.length; wi += 2) {
        var wx0 = Math.max(LABEL_W, X(WIN[wi])), wx1 = Math.min(W, X(WIN[wi + 1]));
        if (wx1 <= wx0) continue;
        bands++;
        ctx.fillStyle = "rgba(46,160,67,0.10)"; ctx.fillRect(wx0, AXIS_H, wx1 - wx0, H - AXIS_H);
        if (X(WIN[wi + 1]) <= W) {
          ctx.strokeStyle = "#2e7d32"; ctx.setLineDash([6, 4]); ctx.beginPath();
          ctx.moveTo(Math.round(wx1) + 0.5, AXIS_H); ctx.lineTo(Math.round(wx1) + 0.5, H); ctx.stroke(); ctx.setLineDash([]);
        }
      }
      canvas.dataset.windowBands = String(bands);

      var light = COLORS.map(function () { return new Path2D(); }), full = COLORS.map(function () { return new Path2D(); });
      var hoverBox = null;
      for (r = first; r <= last && r < rows.length; r++) {
        row = rows[r];
        if (row.header) continue;
        y = AXIS_H + row.y - sy + PAD;
        for (var L = 0; L < row.lanes.length; L++) {
          var lane = row.lanes[L], ids = lane.ids, yy = y + L * LANE;
          for (var k = lowerBound(lane.ends, t0); k < ids.length; k++) {
            var t = ids[k];
            if (Q[t] > t1) break;
            var x0 = X(Q[t]), xe = X(E[t]), xs = S[t] < 0 ? xe : X(S[t]), c = C[t];
            if (xs - x0 >= 0.5 || S[t] < 0) light[c].rect(x0, yy, Math.max(1, xs - x0), BAR);
            if (S[t] >= 0) full[c].rect(xs, yy, Math.max(1, xe - xs > 3 ? xe - xs - 1 : xe - xs), BAR);
            if (t === hover) hoverBox = [x0, yy, Math.max(1, xe - x0)];
          }
        }
      }
      for (var ci = 0; ci < COLORS.length; ci++) {
        ctx.fillStyle = COLORS[ci];
        ctx.globalAlpha = 0.35; ctx.fill(light[ci]);
        ctx.globalAlpha = 1; ctx.fill(full[ci]);
      }
      if (hoverBox) { ctx.strokeStyle = "#000"; ctx.lineWidth = 1.5; ctx.strokeRect(hoverBox[0] - 1, hoverBox[1] - 1, hoverBox[2] + 2, BAR + 2); }
      var endX = X(D.end);
      if (D.end > 0 && endX >= LABEL_W && endX <= W) {
        ctx.strokeStyle = "#c00"; ctx.setLineDash([4, 3]); ctx.beginPath(); ctx.moveTo(Math.round(endX) + 0.5, AXIS_H); ctx.lineTo(Math.round(endX) + 0.5, H); ctx.stroke(); ctx.setLineDash([]);
      }

      ctx.fillStyle = "#fff"; ctx.fillRect(0, AXIS_H, LABEL_W, H - AXIS_H);
      ctx.strokeStyle = "#ccc"; ctx.beginPath(); ctx.moveTo(LABEL_W - 0.5, 0); ctx.lineTo(LABEL_W - 0.5, H); ctx.stroke();
      ctx.textBaseline = "middle";
      for (r = first; r <= last && r < rows.length; r++) {
        row = rows[r]; y = AXIS_H + row.y - sy;
        if (row.header) {
          ctx.fillStyle = "#eef1f5"; ctx.fillRect(0, y, LABEL_W, row.h);
          ctx.fillStyle = "#333"; ctx.font = "bold 12px system-ui, sans-serif";
          ctx.fillText(fit(row.label, LABEL_W - 12), 6, y + row.h / 2);
        } else {
          if (r % 2) { ctx.fillStyle = "#f8f8f8"; ctx.fillRect(0, y, LABEL_W, row.h); }
          ctx.fillStyle = "#222"; ctx.font = "12px system-ui, sans-serif";
          ctx.fillText(fit(row.label, LABEL_W - 16), 10, y + Math.min(row.h, 18) / 2);
        }
      }
      ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, AXIS_H);
      ctx.strokeStyle = "#bbb"; ctx.beginPath(); ctx.moveTo(0, AXIS_H - 0.5); ctx.lineTo(W, AXIS_H - 0.5); ctx.stroke();
      ctx.fillStyle = "#444"; ctx.font = "11px system-ui, sans-serif"; ctx.textBaseline = "middle";
      for (tk = Math.floor(t0 / step) * step; tk <= t1; tk += step) {
        var tx = X(tk);
        if (tx < LABEL_W - 1) continue;
        ctx.fillRect(Math.round(tx), AXIS_H - 6, 1, 6);
        ctx.fillText(tick(tk, step), tx + 3, AXIS_H / 2 - 2);
      }
      ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, LABEL_W - 1, AXIS_H - 1);
      ctx.fillStyle = "#666"; ctx.fillText("hours from the start", 6, AXIS_H / 2 - 2);
    }

    function hitTest(px, py) {
      if (px < LABEL_W || py < AXIS_H || !rows.length) return -1;
      var sx = scroller.scrollLeft, sy = scroller.scrollTop;
      var t = (px - LABEL_W + sx) / pps, y = py - AXIS_H + sy;
      var row = rows[rowAt(y)];
      if (!row || row.header || y > row.y + row.h) return -1;
      var L = Math.floor((y - row.y - PAD) / LANE);
      if (L < 0 || L >= row.lanes.length) return -1;
      var lane = row.lanes[L], tol = 3 / pps, best = -1, bestGap = Infinity;
      for (var k = lowerBound(lane.ends, t - tol); k < lane.ids.length; k++) {
        var id = lane.ids[k];
        if (Q[id] > t + tol) break;
        var gap = t < Q[id] ? Q[id] - t : t > E[id] ? t - E[id] : 0;
        if (gap < bestGap) { best = id; bestGap = gap; }
      }
      return best;
    }

    function line(parent, text) { var d = document.createElement("div"); d.textContent = text; parent.appendChild(d); }
    function showTip(id, cx, cy) {
      while (tip.firstChild) tip.removeChild(tip.firstChild);
      var name = document.createElement("b");
      name.textContent = D.vms[VM[id]];
      tip.appendChild(name);
      var kind = D.kinds[D.k[id]];
      line(tip, (KIND_LABEL[kind] || kind) + " · " + size(D.mb[id]));
      var src = sourceDatastores(id).map(function (d) { return D.datastores[d]; }).join(", ");
      var sh = D.sh[id] >= 0 ? D.hosts[D.sh[id]] : "?";
      if (D.dh[id] >= 0) line(tip, "host " + sh + " → " + D.hosts[D.dh[id]]);
      if (D.dd[id] >= 0) line(tip, "datastore " + (src || "?") + " → " + D.datastores[D.dd[id]]);
      if (D.dh[id] < 0 && D.dd[id] < 0) line(tip, "on host " + sh + (src ? ", datastore " + src : ""));
      else if (D.dh[id] < 0) line(tip, "on host " + sh);
      line(tip, "queued   " + offset(Q[id]) + "   " + wall(Q[id]));
      if (S[id] >= 0) {
        line(tip, "started  " + offset(S[id]) + "   " + wall(S[id]) + (S[id] - Q[id] >= 0.05 ? "   (waited " + duration(S[id] - Q[id]) + ")" : ""));
        if (D.de[id] >= 0) line(tip, "ended    " + offset(E[id]) + "   " + wall(E[id]) + "   (took " + duration(E[id] - S[id]) + ")");
        else line(tip, "still running when the statistics were taken");
      } else {
        line(tip, "never started (still queued)");
      }
      if (F[id] >= 0) line(tip, "FAILED: " + D.faults[F[id]]);
      tip.style.display = "block";
      var w = tip.offsetWidth, h = tip.offsetHeight;
      var x = cx + 14, y = cy + 14;
      if (x + w > window.innerWidth - 4) x = Math.max(4, cx - w - 14);
      if (y + h > window.innerHeight - 4) y = Math.max(4, cy - h - 14);
      tip.style.left = x + "px"; tip.style.top = y + "px";
    }
    function showLabel(px, py, cx, cy) {
      var y = py - AXIS_H + scroller.scrollTop, row = rows[rowAt(y)];
      if (!row || y > row.y + row.h || px >= LABEL_W || py < AXIS_H) return false;
      while (tip.firstChild) tip.removeChild(tip.firstChild);
      var b = document.createElement("b"); b.textContent = row.label; tip.appendChild(b);
      if (row.sub) line(tip, "cluster " + row.sub);
      if (!row.header) line(tip, row.count + " task" + (row.count === 1 ? "" : "s") + ", up to " + row.lanes.length + " at once");
      tip.style.display = "block"; tip.style.left = (cx + 14) + "px"; tip.style.top = (cy + 14) + "px";
      return true;
    }

    scroller.addEventListener("mousemove", function (ev) {
      var rect = scroller.getBoundingClientRect(), px = ev.clientX - rect.left, py = ev.clientY - rect.top;
      var id = hitTest(px, py);
      if (id !== hover) { hover = id; request(); }
      if (id >= 0) showTip(id, ev.clientX, ev.clientY);
      else if (!showLabel(px, py, ev.clientX, ev.clientY)) tip.style.display = "none";
    });
    scroller.addEventListener("mouseleave", function () { tip.style.display = "none"; if (hover >= 0) { hover = -1; request(); } });
    scroller.addEventListener("scroll", request);
    scroller.addEventListener("wheel", function (ev) {
      if (!ev.ctrlKey && !ev.metaKey) return;
      ev.preventDefault();
      var rect = scroller.getBoundingClientRect();
      zoomAt(Math.exp(-ev.deltaY * 0.002), ev.clientX - rect.left);
    }, {passive: false});
    function center() { return LABEL_W + plotWidth() / 2; }
    document.getElementById("zoom-in").addEventListener("click", function () { zoomAt(1.6, center()); });
    document.getElementById("zoom-out").addEventListener("click", function () { zoomAt(1 / 1.6, center()); });
    document.getElementById("zoom-fit").addEventListener("click", function () { setPps(fitPps()); scroller.scrollLeft = 0; request(); });
    document.addEventListener("keydown", function (ev) {
      if (ev.target && ev.target.tagName === "SELECT") return;
      if (ev.key === "+" || ev.key === "=") zoomAt(1.6, center());
      else if (ev.key === "-" || ev.key === "_") zoomAt(1 / 1.6, center());
      else if (ev.key === "0") { setPps(fitPps()); scroller.scrollLeft = 0; request(); }
    });
    select.addEventListener("change", function () { buildRows(select.value); layout(); scroller.scrollTop = 0; hover = -1; request(); });
    window.addEventListener("resize", request);

    load(JSON.parse(document.getElementById("timeline-data").textContent));
    buildRows(D.group);
    pps = fitPps();
    layout();
    draw();
    window.mmTimeline = {
      update: function (data) {
        var fitted = Math.abs(pps - fitPps()) < 1e-9 * Math.max(1, pps);
        load(data);
        buildRows(select.value);
        if (fitted) pps = fitPps(); else setPps(pps);
        if (hover >= n) hover = -1;
        layout();
        request();
      }
    };
    })();
    """#
}
