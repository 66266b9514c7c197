// The gauntlet timeline page: draws the embedded history (operations per client process, fault
// windows, node roles and terms) on one canvas with zoom and pan, lists the counterexample in
// place, and fills #render-summary with what it drew (for tests and scripts).
(function () {
  'use strict';

  // A node a fault names, as `n3`; id 0 stands for the workload's clients (client faults).
  function targetName(n) {
    return n === 0 ? 'clients' : 'n' + n;
  }
  var D = JSON.parse(document.getElementById('timeline-data').textContent);
  var S = D.s;
  var ops = D.ops;
  var N = ops.p.length;
  var OUTCOME = ['ok', 'fail', 'info', 'pending'];
  var OUTCOME_COLOR = ['#3b9b5a', '#d0463c', '#e4a11b', '#9aa3b0'];
  var ROLE_COLOR = {
    leader: '#f08c00', candidate: '#b197fc', 'pre-candidate': '#d0bfff',
    follower: '#dbe4ef', learner: '#a5d8d8', down: '#5c6470'
  };
  var CX_COLOR = '#c0267d';
  var LEFT = 124, AXIS = 22, LANE = 18, NODE_LANE = 22, FAULT_ROW = 15, GAP = 8;

  // ---- data ----------------------------------------------------------------------------------
  var end = D.end;
  var isCx = new Uint8Array(N);
  var cxIds = [];
  if (D.cx) {
    D.cx.blocked.forEach(function (b) { cxIds.push(b[0]); });
    D.cx.concurrent.forEach(function (id) { cxIds.push(id); });
    cxIds = cxIds.filter(function (id, i, a) { return a.indexOf(id) === i && id < N; });
    cxIds.forEach(function (id) { isCx[id] = 1; });
  }
  // Lanes: a process's operations never overlap, and a process that ended (after an `info`, a
  // client continues under a new process id) leaves its lane to the next one that starts later,
  // so there are about as many lanes as clients at once.
  function opEnd(i) { return ops.t1[i] < 0 ? end : ops.t1[i]; }
  var byProc = {};
  var procList = [];
  for (var i = 0; i < N; i++) {
    var p = ops.p[i];
    if (!(p in byProc)) { byProc[p] = { p: p, ops: [], first: ops.t0[i], last: 0 }; procList.push(byProc[p]); }
    var pr = byProc[p];
    pr.ops.push(i);
    pr.last = Math.max(pr.last, opEnd(i));
  }
  procList.sort(function (a, b) { return a.first - b.first || a.p - b.p; });
  var procs = [];
  var laneOf = {};
  procList.forEach(function (pr) {
    var j = 0;
    while (j < procs.length && procs[j].busyUntil >= pr.first) { j++; }
    if (j === procs.length) { procs.push({ p: pr.p, members: [], ops: [], ends: [], busyUntil: -Infinity }); }
    var lane = procs[j];
    lane.members.push(pr.p);
    lane.busyUntil = pr.last;
    laneOf[pr.p] = j;
    pr.ops.forEach(function (k) {
      lane.ops.push(k);
      // Running maximum of ends, for the binary search of the first visible bar.
      var prev = lane.ends.length ? lane.ends[lane.ends.length - 1] : -Infinity;
      lane.ends.push(Math.max(prev, opEnd(k)));
    });
  });
  var MAX_LANES = 1000;
  var lanesLeftOut = Math.max(0, procs.length - MAX_LANES);
  if (lanesLeftOut) {
    D.notes.push(lanesLeftOut + ' process lanes beyond the first ' + MAX_LANES + ' are not drawn (their operations are still counted and listed)');
    procs = procs.slice(0, MAX_LANES);
  }
  function laneLabel(lane) {
    return lane.members.length === 1 ? 'process ' + lane.p : 'processes ' + lane.members[0] + ' +' + (lane.members.length - 1);
  }
  // Fault rows: greedy, so overlapping windows get rows of their own.
  var faultRows = [];
  D.faults.forEach(function (f) {
    var fe = f.e === null ? end : f.e;
    var row = 0;
    while (faultRows[row] !== undefined && faultRows[row] > f.s) { row++; }
    faultRows[row] = fe;
    f.row = row;
  });
  var nFaultRows = Math.max(1, faultRows.length);
  function hue(name) {
    var h = 0;
    for (var k = 0; k < name.length; k++) { h = (h * 31 + name.charCodeAt(k)) % 360; }
    return h;
  }
  function faultColor(f, a) { return 'hsla(' + hue(f.name) + ',70%,50%,' + a + ')'; }
  // Leader spans over all nodes in time order: a change is a new (node, term).
  var leaderSpans = [];
  D.nodes.forEach(function (n) {
    n.spans.forEach(function (s) { if (s[2] === 'leader') { leaderSpans.push({ node: n.node, term: s[3], s: s[0] }); } });
  });
  leaderSpans.sort(function (a, b) { return a.s - b.s; });
  var leaderChanges = 0;
  for (i = 1; i < leaderSpans.length; i++) {
    if (leaderSpans[i].node !== leaderSpans[i - 1].node || leaderSpans[i].term !== leaderSpans[i - 1].term) { leaderChanges++; }
  }

  // ---- text helpers ----------------------------------------------------------------------------
  function str(k) { return k < 0 ? '' : S[k]; }
  function fmtTime(t) {
    if (D.unit === 'event') { return 'event ' + Math.round(t); }
    var s = t / 1e6;
    return s.toFixed(Math.abs(s) < 10 ? 6 : 4) + ' s';
  }
  function fmtSpan(d) {
    if (D.unit === 'event') { return Math.round(d) + ' events'; }
    if (d < 1000) { return d.toFixed(0) + ' µs'; }
    if (d < 1e6) { return (d / 1000).toFixed(d < 1e4 ? 2 : 1) + ' ms'; }
    return (d / 1e6).toFixed(3) + ' s';
  }
  function opName(i) {
    return ops.c[i] >= 0 ? 'op ' + ops.c[i] : 'failed op (line ' + ops.l[i] + ')';
  }
  function opValue(i) {
    var out = str(ops.r[i]);
    var f = str(ops.f[i]);
    return (out !== '' && /read|get/.test(f)) ? out : str(ops.i[i]);
  }
  function opLabel(i) {
    var label = str(ops.f[i]);
    if (ops.k[i] >= 0) { label += ' ' + str(ops.k[i]); }
    var v = opValue(i);
    if (v !== '' && v !== 'nil') { label += ' ' + v; }
    if (ops.n[i] >= 0) { label += ' @n' + ops.n[i]; }
    return label;
  }
  function opSummary(i) {
    var out = ops.r[i] >= 0 ? str(ops.r[i]) : '?';
    return opName(i) + ' (process ' + ops.p[i] + '): ' + str(ops.f[i]) +
      (ops.k[i] >= 0 ? ' ' + str(ops.k[i]) : '') + ' ' + str(ops.i[i]) + ' -> ' + out +
      ' [' + OUTCOME[ops.o[i]] + (ops.n[i] >= 0 ? ', node ' + ops.n[i] : '') + ']';
  }
  function opDetails(i) {
    var lines = [
      opName(i) + (isCx[i] ? '   ** in the counterexample **' : ''),
      'process    ' + ops.p[i],
      'function   ' + str(ops.f[i]),
      'key        ' + (ops.k[i] >= 0 ? str(ops.k[i]) : '(none)'),
      'asked      ' + str(ops.i[i]),
      'returned   ' + (ops.r[i] >= 0 ? str(ops.r[i]) : '(nothing)'),
      'outcome    ' + OUTCOME[ops.o[i]],
      'node       ' + (ops.n[i] >= 0 ? ops.n[i] : '(not recorded)'),
      'invoked    ' + fmtTime(ops.t0[i]),
      'completed  ' + (ops.t1[i] >= 0 ? fmtTime(ops.t1[i]) + '  (took ' + fmtSpan(ops.t1[i] - ops.t0[i]) + ')' : '(never)'),
      'line       ' + ops.l[i]
    ];
    if (ops.ek[i] >= 0) { lines.push('error kind ' + str(ops.ek[i])); }
    if (ops.er[i] >= 0) { lines.push('error      ' + str(ops.er[i])); }
    var active = D.faults.filter(function (f) { return f.s <= ops.t0[i] ? (f.e === null || f.e >= ops.t0[i]) : f.s <= opEnd(i); });
    if (active.length) {
      lines.push('faults     ' + active.map(function (f) { return f.name; }).join(', '));
    }
    var leaders = D.nodes.map(function (n) {
      var s = n.spans.find(function (s) { return s[2] === 'leader' && s[0] <= ops.t0[i] && (s[1] < 0 || s[1] >= ops.t0[i]); });
      return s ? 'n' + n.node + ' (term ' + s[3] + ')' : null;
    }).filter(Boolean);
    if (D.nodes.length) { lines.push('leader(s)  ' + (leaders.length ? leaders.join(', ') : 'none at invocation')); }
    return lines.join('\n');
  }

  // ---- header, legend, notes ---------------------------------------------------------------------
  document.getElementById('title').textContent = D.title;
  var verdictEl = document.getElementById('verdict');
  verdictEl.textContent = D.verdict || 'unknown';
  if (/not|invalid|violation|fail/.test(D.verdict)) { verdictEl.className = 'bad'; }
  document.getElementById('verdict-detail').textContent = D.detail;
  var legend = document.getElementById('legend');
  function swatch(color, text) {
    var span = document.createElement('span');
    var sw = document.createElement('span');
    sw.className = 'swatch'; sw.style.background = color;
    span.appendChild(sw); span.appendChild(document.createTextNode(text));
    legend.appendChild(span);
  }
  OUTCOME.forEach(function (o, k) { swatch(OUTCOME_COLOR[k], o); });
  swatch(CX_COLOR, 'counterexample');
  ['leader', 'candidate', 'follower', 'down'].forEach(function (r) { swatch(ROLE_COLOR[r], r); });
  var notes = document.getElementById('notes');
  D.notes.forEach(function (n) { var li = document.createElement('li'); li.textContent = n; notes.appendChild(li); });

  // ---- layout -------------------------------------------------------------------------------------
  var canvas = document.getElementById('timeline');
  var ctx = canvas.getContext('2d');
  var viewEl = document.getElementById('view');
  var faultTop = AXIS;
  var nodesTop = faultTop + nFaultRows * FAULT_ROW + GAP;
  var procTop = nodesTop + D.nodes.length * NODE_LANE + (D.nodes.length ? GAP : 0);
  var height = procTop + procs.length * LANE + 10;
  var width = 800;
  var plotW = 700;
  var view = { t0: 0, t1: Math.max(end, 1) };
  var selected = -1;
  var hovered = -1;

  function resize() {
    width = Math.max(400, viewEl.clientWidth || 1000);
    plotW = width - LEFT - 10;
    var dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    canvas.style.width = width + 'px';
    canvas.style.height = height + 'px';
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  }
  function x(t) { return LEFT + (t - view.t0) / (view.t1 - view.t0) * plotW; }
  function tAt(px) { return view.t0 + (px - LEFT) / plotW * (view.t1 - view.t0); }
  function firstVisible(lane, t0) {
    var lo = 0, hi = lane.ends.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (lane.ends[mid] < t0) { lo = mid + 1; } else { hi = mid; } }
    return lo;
  }

  // ---- drawing ------------------------------------------------------------------------------------
  var stats = {};
  function niceStep(span, px) {
    var raw = span / Math.max(1, px / 110);
    var pow = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 5, 10];
    for (var k = 0; k < steps.length; k++) { if (steps[k] * pow >= raw) { return steps[k] * pow; } }
    return 10 * pow;
  }
  function drawAxis() {
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, width, AXIS);
    ctx.strokeStyle = '#e3e7ee';
    ctx.fillStyle = '#555';
    ctx.font = '11px system-ui, sans-serif';
    var step = niceStep(view.t1 - view.t0, plotW);
    var t = Math.ceil(view.t0 / step) * step;
    for (; t <= view.t1; t += step) {
      var px = Math.round(x(t)) + 0.5;
      ctx.beginPath(); ctx.moveTo(px, AXIS - 4); ctx.lineTo(px, height); ctx.stroke();
      ctx.fillText(D.unit === 'event' ? String(Math.round(t)) : (t === 0 ? '0' : fmtSpan(t)), px + 2, AXIS - 8);
    }
  }
  function drawFaults() {
    var drawn = 0;
    ctx.font = '11px system-ui, sans-serif';
    D.faults.forEach(function (f) {
      var fe = f.e === null ? end : f.e;
      if (fe < view.t0 || f.s > view.t1) { return; }
      var x0 = Math.max(LEFT, x(f.s)), x1 = Math.min(LEFT + plotW, x(fe));
      var w = Math.max(2, x1 - x0);
      drawn++;
      ctx.fillStyle = faultColor(f, 0.10);
      ctx.fillRect(x0, nodesTop - 2, w, height - nodesTop);
      ctx.fillStyle = faultColor(f, 0.55);
      var y = faultTop + f.row * FAULT_ROW;
      ctx.fillRect(x0, y + 1, w, FAULT_ROW - 2);
      if (w > 30) {
        ctx.save(); ctx.beginPath(); ctx.rect(x0, y, w, FAULT_ROW); ctx.clip();
        ctx.fillStyle = '#111';
        var label = f.name + (f.targets.length ? ' ' + f.targets.map(targetName).join(',') : '');
        ctx.fillText(label, x0 + 3, y + FAULT_ROW - 4);
        ctx.restore();
      }
    });
    stats.faults = drawn;
  }
  function drawNodes() {
    ctx.font = '11px system-ui, sans-serif';
    var leaderDrawn = 0;
    D.nodes.forEach(function (n, j) {
      var y = nodesTop + j * NODE_LANE;
      ctx.fillStyle = '#333';
      ctx.fillText('node ' + n.node, 6, y + NODE_LANE - 7);
      n.spans.forEach(function (s) {
        var se = s[1] < 0 ? end : s[1];
        if (se < view.t0 || s[0] > view.t1) { return; }
        var x0 = Math.max(LEFT, x(s[0])), x1 = Math.min(LEFT + plotW, x(se));
        var w = Math.max(1, x1 - x0);
        ctx.fillStyle = ROLE_COLOR[s[2]] || '#ccc';
        ctx.fillRect(x0, y + 2, w, NODE_LANE - 5);
        if (s[2] === 'leader') { leaderDrawn++; }
        var label = s[2] === 'leader' ? 'leader t' + s[3] : (s[2] === 'down' ? 'down' : 't' + s[3]);
        if (w > ctx.measureText(label).width + 4) {
          ctx.fillStyle = s[2] === 'down' ? '#fff' : '#222';
          ctx.fillText(label, x0 + 2, y + NODE_LANE - 7);
        }
      });
      var lastMark = '';
      n.marks.forEach(function (m) {
        if (m[0] < view.t0 || m[0] > view.t1) { return; }
        var px = x(m[0]);
        var kind = m[1];
        // Marks of one kind on the pixel just drawn would change nothing.
        var at = kind + Math.round(px);
        if (at === lastMark) { return; }
        lastMark = at;
        ctx.fillStyle = kind === 'killed' || kind === 'raft-violation' || kind === 'log-truncated' ? '#b00020'
          : kind === 'restarted' || kind === 'started' ? '#157f3b'
            : kind === 'paused' || kind === 'resumed' ? '#1c5fd4' : '#444';
        ctx.beginPath();
        if (kind === 'restarted' || kind === 'started') {
          ctx.moveTo(px, y + 2); ctx.lineTo(px + 5, y + NODE_LANE - 3); ctx.lineTo(px - 5, y + NODE_LANE - 3);
        } else if (kind === 'killed') {
          ctx.rect(px - 1.5, y, 3, NODE_LANE - 1);
        } else if (kind === 'paused' || kind === 'resumed') {
          ctx.rect(px - 3, y + 3, 2, NODE_LANE - 7); ctx.rect(px + 1, y + 3, 2, NODE_LANE - 7);
        } else if (kind === 'raft-violation') {
          ctx.arc(px, y + NODE_LANE / 2, 6, 0, 7);
        } else {
          ctx.arc(px, y + NODE_LANE / 2, 3, 0, 7);
        }
        ctx.fill();
      });
    });
    stats.leaderSpansDrawn = leaderDrawn;
  }
  function drawOps() {
    var drawn = 0, visible = 0, cxDrawn = 0;
    ctx.font = '11px system-ui, sans-serif';
    var cxBoxes = [];
    procs.forEach(function (lane, j) {
      var y = procTop + j * LANE;
      ctx.fillStyle = '#333';
      ctx.fillText(laneLabel(lane), 6, y + LANE - 5);
      var lastPx = -1, lastColor = -1;
      for (var k = firstVisible(lane, view.t0); k < lane.ops.length; k++) {
        var i = lane.ops[k];
        if (ops.t0[i] > view.t1) { break; }
        visible++;
        var x0 = Math.max(LEFT, x(ops.t0[i])), x1 = Math.min(LEFT + plotW, x(opEnd(i)));
        var w = x1 - x0;
        if (isCx[i]) { cxBoxes.push([i, x0, y, w]); }
        // Bars narrower than a pixel that land on the pixel just drawn, in the same colour, are
        // one mark: drawing them again would change nothing.
        var px = Math.floor(x0);
        if (w < 1 && px === lastPx && ops.o[i] === lastColor) { continue; }
        lastPx = px; lastColor = ops.o[i];
        drawn++;
        ctx.fillStyle = OUTCOME_COLOR[ops.o[i]];
        ctx.fillRect(x0, y + 2, Math.max(1, w - 1), LANE - 4);
        if (w > 34) {
          ctx.save(); ctx.beginPath(); ctx.rect(x0, y, w - 2, LANE); ctx.clip();
          ctx.fillStyle = ops.o[i] === 0 ? '#fff' : '#111';
          ctx.fillText(opLabel(i), x0 + 2, y + LANE - 5);
          ctx.restore();
        }
      }
    });
    // The counterexample on top: an outline, and a marker above the lane that shows at any zoom.
    cxBoxes.forEach(function (b) {
      cxDrawn++;
      ctx.strokeStyle = CX_COLOR; ctx.lineWidth = 2.5;
      ctx.strokeRect(b[1] - 1, b[2] + 1, Math.max(3, b[3]) + 1, LANE - 2);
      ctx.fillStyle = CX_COLOR;
      ctx.beginPath(); ctx.moveTo(b[1] - 4, b[2] - 2); ctx.lineTo(b[1] + 4, b[2] - 2); ctx.lineTo(b[1], b[2] + 4); ctx.fill();
    });
    ctx.lineWidth = 1;
    [selected, hovered].forEach(function (i) {
      if (i < 0) { return; }
      var j = laneOf[ops.p[i]];
      var x0 = Math.max(LEFT - 2, x(ops.t0[i])), x1 = Math.min(LEFT + plotW + 2, x(opEnd(i)));
      ctx.strokeStyle = '#111'; ctx.lineWidth = 1.5;
      ctx.strokeRect(x0 - 2, procTop + j * LANE, Math.max(4, x1 - x0) + 4, LANE);
      ctx.lineWidth = 1;
    });
    stats.opsVisible = visible; stats.opsDrawn = drawn; stats.cxDrawn = cxDrawn;
  }
  function draw() {
    var started = performance.now();
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = '#fafbfc';
    ctx.fillRect(0, 0, width, height);
    drawAxis();
    drawFaults();
    drawNodes();
    drawOps();
    ctx.fillStyle = '#fafbfc';
    ctx.fillRect(0, AXIS, LEFT - 4, nFaultRows * FAULT_ROW);
    ctx.fillStyle = '#333';
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillText('faults', 6, faultTop + FAULT_ROW - 4);
    document.getElementById('status').textContent =
      'showing ' + fmtTime(view.t0) + ' to ' + fmtTime(view.t1) + ' (' + fmtSpan(view.t1 - view.t0) + '): ' +
      stats.opsVisible + ' of ' + N + ' operations in this window' +
      (stats.opsDrawn < stats.opsVisible ? ' (' + (stats.opsVisible - stats.opsDrawn) + ' share a pixel with the one before; zoom in to tell them apart)' : '') +
      ', ' + stats.faults + ' of ' + D.faults.length + ' fault windows. Wheel: zoom, drag: pan, click: keep details.';
    stats.drawMs = performance.now() - started;
    summarize();
  }
  function summarize() {
    var el = document.getElementById('render-summary');
    el.setAttribute('data-rendered', 'true');
    el.setAttribute('data-operations', String(N));
    el.setAttribute('data-operations-drawn', String(stats.opsDrawn));
    el.setAttribute('data-process-lanes', String(procs.length));
    el.setAttribute('data-node-lanes', String(D.nodes.length));
    el.setAttribute('data-leader-spans', String(leaderSpans.length));
    el.setAttribute('data-leader-changes', String(leaderChanges));
    el.setAttribute('data-leader-spans-drawn', String(stats.leaderSpansDrawn));
    el.setAttribute('data-fault-windows', String(D.faults.length));
    el.setAttribute('data-fault-windows-drawn', String(stats.faults));
    el.setAttribute('data-counterexample-operations', String(cxIds.length));
    el.setAttribute('data-counterexample-marked', String(document.querySelectorAll('[data-counterexample="true"]').length));
    el.setAttribute('data-counterexample-drawn', String(stats.cxDrawn));
    el.setAttribute('data-errors', String(window.timelineErrors.length));
    el.setAttribute('data-last-draw-ms', stats.drawMs.toFixed(1));
    if (!el.hasAttribute('data-first-draw-ms')) {
      // Milliseconds from the start of navigation to the end of the first drawing.
      el.setAttribute('data-first-draw-ms', String(Math.round(performance.now())));
    }
  }

  // ---- the counterexample panel ----------------------------------------------------------------------
  function opRef(i, extra, attr) {
    var li = document.createElement('li');
    li.className = 'op-ref';
    li.setAttribute('data-op', String(i));
    if (attr) { li.setAttribute(attr, 'true'); }
    li.textContent = opSummary(i) + ' [line ' + ops.l[i] + ']';
    if (extra) { var r = document.createElement('span'); r.className = 'reason'; r.textContent = extra; li.appendChild(r); }
    li.addEventListener('click', function () { focusOps([i]); select(i); });
    return li;
  }
  function heading(parent, text) { var h = document.createElement('h2'); h.textContent = text; parent.appendChild(h); }
  function para(parent, text, cls) { var p = document.createElement('p'); p.textContent = text; if (cls) { p.className = cls; } parent.appendChild(p); return p; }
  var panel = document.getElementById('counterexample');
  if (D.cx) {
    heading(panel, 'counterexample' + (D.cx.anomaly ? ' (' + D.cx.anomaly + ')' : '') + ' on key ' + D.cx.key);
    para(panel, D.cx.explanation, 'explanation');
    if (!D.cx.anomaly || D.cx.prefix.length) {
      para(panel, 'Longest linearizable prefix (' + D.cx.prefix.length + ' operations):');
      var ol = document.createElement('ol');
      var SHOWN = 20;
      var skip = Math.max(0, D.cx.prefix.length - SHOWN);
      if (skip) { para(panel, '… ' + skip + ' earlier operations not listed'); ol.start = skip + 1; }
      D.cx.prefix.slice(skip).forEach(function (id) { ol.appendChild(opRef(id, null, 'data-prefix')); });
      panel.appendChild(ol);
      para(panel, 'State after it:');
      para(panel, D.cx.state, 'state');
      para(panel, 'Cannot go next:');
    } else {
      para(panel, 'Shown by:');
    }
    var ul = document.createElement('ul');
    D.cx.blocked.forEach(function (b) { ul.appendChild(opRef(b[0], b[1], 'data-counterexample')); });
    panel.appendChild(ul);
    if (D.cx.concurrent.length) {
      para(panel, 'Concurrent with them:');
      var cl = document.createElement('ul');
      D.cx.concurrent.forEach(function (id) { cl.appendChild(opRef(id, null, 'data-counterexample')); });
      panel.appendChild(cl);
    }
  } else {
    heading(panel, 'counterexample');
    para(panel, 'none: ' + (D.verdict || 'no verdict'));
    document.getElementById('jump-to-violation').disabled = true;
  }

  // ---- interaction ---------------------------------------------------------------------------------------
  function select(i) {
    selected = i;
    document.getElementById('details-body').textContent = i < 0 ? '' : opDetails(i);
    draw();
  }
  function setView(t0, t1) {
    var span = Math.max(t1 - t0, D.unit === 'event' ? 2 : 1);
    view.t0 = t0; view.t1 = t0 + span;
    draw();
  }
  function focusOps(ids) {
    if (!ids.length) { return; }
    var lo = Infinity, hi = -Infinity;
    ids.forEach(function (i) { lo = Math.min(lo, ops.t0[i]); hi = Math.max(hi, opEnd(i)); });
    var pad = Math.max((hi - lo) * 0.25, D.unit === 'event' ? 3 : 1000);
    setView(lo - pad, hi + pad);
    var j = laneOf[ops.p[ids[0]]];
    var top = canvas.getBoundingClientRect().top + window.scrollY + procTop + j * LANE - 120;
    if (window.scrollTo) { window.scrollTo(0, Math.max(0, top)); }
  }
  function zoom(factor, px) {
    var at = tAt(px === undefined ? LEFT + plotW / 2 : px);
    setView(at - (at - view.t0) * factor, at + (view.t1 - at) * factor);
  }
  document.getElementById('fit').addEventListener('click', function () { setView(0, Math.max(end, 1)); });
  document.getElementById('zoom-in').addEventListener('click', function () { zoom(0.5); });
  document.getElementById('zoom-out').addEventListener('click', function () { zoom(2); });
  document.getElementById('jump-to-violation').addEventListener('click', function () {
    if (cxIds.length) { focusOps(cxIds); select(cxIds[0]); }
  });
  document.addEventListener('keydown', function (ev) {
    if (ev.key === '+' || ev.key === '=') { zoom(0.5); } else if (ev.key === '-') { zoom(2); } else if (ev.key === '0') { setView(0, Math.max(end, 1)); } else if (ev.key === 'j' && cxIds.length) { focusOps(cxIds); select(cxIds[0]); } else if (ev.key === 'ArrowLeft') { setView(view.t0 - (view.t1 - view.t0) * 0.2, view.t1 - (view.t1 - view.t0) * 0.2); } else if (ev.key === 'ArrowRight') { setView(view.t0 + (view.t1 - view.t0) * 0.2, view.t1 + (view.t1 - view.t0) * 0.2); }
  });
  canvas.addEventListener('wheel', function (ev) {
    ev.preventDefault();
    var r = canvas.getBoundingClientRect();
    if (ev.shiftKey) {
      var d = (ev.deltaY || ev.deltaX) / plotW * (view.t1 - view.t0);
      setView(view.t0 + d, view.t1 + d);
    } else {
      zoom(ev.deltaY > 0 ? 1.25 : 0.8, ev.clientX - r.left);
    }
  }, { passive: false });
  var drag = null;
  canvas.addEventListener('mousedown', function (ev) { drag = { x: ev.clientX, t0: view.t0, t1: view.t1, moved: false }; });
  window.addEventListener('mouseup', function (ev) {
    if (drag && !drag.moved) { var hit = hitTest(ev); if (hit.op >= 0) { select(hit.op); } }
    drag = null;
  });
  var tooltip = document.getElementById('tooltip');
  function hitTest(ev) {
    var r = canvas.getBoundingClientRect();
    var mx = ev.clientX - r.left, my = ev.clientY - r.top;
    var t = tAt(mx), tol = 3 / plotW * (view.t1 - view.t0);
    var res = { op: -1, text: null, mx: mx, my: my };
    if (my >= procTop && mx >= LEFT) {
      var lane = procs[Math.floor((my - procTop) / LANE)];
      if (lane) {
        for (var k = firstVisible(lane, t - tol); k < lane.ops.length; k++) {
          var i = lane.ops[k];
          if (ops.t0[i] > t + tol) { break; }
          if (opEnd(i) >= t - tol) { res.op = i; res.text = opDetails(i); break; }
        }
      }
    } else if (my >= nodesTop && my < procTop && mx >= LEFT) {
      var n = D.nodes[Math.floor((my - nodesTop) / NODE_LANE)];
      if (n) {
        var lines = ['node ' + n.node];
        n.spans.forEach(function (s) {
          if (s[0] <= t && (s[1] < 0 ? end : s[1]) >= t) {
            lines.push(s[2] + ' in term ' + s[3] + (s[4] >= 0 ? ', leader n' + s[4] : '') + ', ' + fmtTime(s[0]) + ' to ' + (s[1] < 0 ? 'the end' : fmtTime(s[1])));
          }
        });
        n.marks.forEach(function (m) { if (Math.abs(m[0] - t) <= tol * 2) { lines.push(m[1] + ' at ' + fmtTime(m[0]) + ': ' + m[2]); } });
        res.text = lines.join('\n');
      }
    } else if (my >= faultTop && my < nodesTop && mx >= LEFT) {
      var hits = D.faults.filter(function (f) { return f.row === Math.floor((my - faultTop) / FAULT_ROW) && f.s - tol <= t && (f.e === null ? end : f.e) + tol >= t; });
      if (hits.length) {
        res.text = hits.map(function (f) {
          return f.name + ' ' + fmtTime(f.s) + ' to ' + (f.e === null ? 'the end (never ended)' : fmtTime(f.e)) + '\n' + f.desc +
            (f.targets.length ? '\ntargets: ' + f.targets.map(targetName).join(', ') : '');
        }).join('\n\n');
      }
    }
    return res;
  }
  canvas.addEventListener('mousemove', function (ev) {
    if (drag) {
      var dx = ev.clientX - drag.x;
      if (Math.abs(dx) > 2) { drag.moved = true; }
      var d = -dx / plotW * (drag.t1 - drag.t0);
      setView(drag.t0 + d, drag.t1 + d);
      return;
    }
    var hit = hitTest(ev);
    if (hit.op !== hovered) { hovered = hit.op; draw(); }
    if (hit.text) {
      tooltip.hidden = false;
      tooltip.textContent = hit.text;
      tooltip.style.left = Math.min(hit.mx + 14, width - 470) + 'px';
      tooltip.style.top = (hit.my + 14) + 'px';
    } else {
      tooltip.hidden = true;
    }
  });
  canvas.addEventListener('mouseleave', function () { tooltip.hidden = true; if (hovered >= 0) { hovered = -1; draw(); } });
  window.addEventListener('resize', function () { resize(); draw(); });

  resize();
  draw();
  // `timeline.html#violation` opens on the counterexample.
  if (window.location.hash === '#violation' && cxIds.length) { focusOps(cxIds); select(cxIds[0]); }
})();
