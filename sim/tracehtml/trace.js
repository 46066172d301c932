// minikv trace view: draws one recorded simulation run.
//
// The data is the <script id="trace-data"> element above, the JSON of Go's
// sim.Trace (see sim/trace.go):
//
//   { "seed": 42, "nodes": 5, "faults": "all", "truncated": false,
//     "events": [ { "t": 12000, "k": "send", ... }, ... ] }
//
// Events are in time order. Every event has t, the virtual time in
// microseconds since the start, and k, its kind. Empty fields are left out.
//
//   k: "state"      n: node, role, term, lead (who n thinks leads);
//                   note "start" when the node (re)boots
//   k: "crash"      n: the node that crashed (down until its next "start")
//   k: "send"       n: sender, to: receiver, msg: message type, sum: summary
//   k: "recv"       n: receiver, to: sender, msg, sum; note "dropped" if the
//                   message reached a cut link or a crashed node
//   k: "commit"     n: first node to commit idx, the log index
//   k: "net"        blocked: every cut directed link [from, to] from now on
//                   (an empty list means the network healed)
//   k: "violation"  note: the invariant that broke
//
// The script has three parts: buildModel turns the events into things to
// draw (role segments, partition bands, commits, message arrows) once; draw
// paints the visible time range on a <canvas> every time the view changes;
// the rest is interaction (zoom, pan, filters, tooltips).

"use strict";

// ---- Looks --------------------------------------------------------------

const ROLE_COLORS = {
  Follower: "#d9e3ee",
  PreCandidate: "#fbe8a0",
  Candidate: "#f6ad62",
  Leader: "#86d08f",
};
const CRASHED_COLOR = "#3a3a3a";
const CUT_COLOR = "rgba(200, 30, 30, 0.6)";
const VIOLATION_COLOR = "#c62828";

// Message types in legend order: [name, colour, shown at first]. Heartbeats
// are most of the traffic, so they start hidden.
const MSG_TYPES = [
  ["MsgApp", "#1f5fbf", true],
  ["MsgAppResp", "#5aa9e6", true],
  ["MsgVote", "#d62728", true],
  ["MsgVoteResp", "#f28b82", true],
  ["MsgPreVote", "#8e44ad", true],
  ["MsgPreVoteResp", "#c7a4de", true],
  ["MsgHeartbeat", "#707070", false],
  ["MsgHeartbeatResp", "#b0b0b0", false],
];
const EXTRA_COLORS = ["#2ca02c", "#8c564b", "#e377c2", "#17becf", "#bcbd22"];

// Geometry of the lanes canvas, in CSS pixels.
const AXIS_H = 28; // time axis at the top
const LANE_H = 40; // one node's lane
const GAP = 42; // space between lanes, where the arrows fly
const LEFT = 78; // room for the lane labels
const RIGHT = 16;
const BOTTOM = 12;
const OVERVIEW_ROW = 5; // one node's row in the overview strip

// Above this many visible arrows the view is "dense": no arrowheads, and
// arrows that would land on the same pixels are drawn once.
const DENSE = 3000;

// ---- Model --------------------------------------------------------------

const dataEl = document.getElementById("trace-data");
const trace = JSON.parse(dataEl.textContent);
dataEl.remove(); // the parsed copy is all we need

const model = buildModel(trace);

// buildModel turns the event list into per-lane drawables and messages.
function buildModel(tr) {
  const events = tr.events || [];
  let nodes = tr.nodes || 0;
  let end = 0;
  for (const e of events) {
    end = Math.max(end, e.t);
    if (e.n > nodes) nodes = e.n;
  }
  if (end <= 0) end = 1000; // an empty trace still gets a 1 ms axis

  const lanes = [];
  for (let id = 1; id <= nodes; id++) {
    lanes.push({
      id,
      segs: [], // {t0, t1, role, term, lead, down, start}: role over time
      cuts: [], // {t0, t1, links, all, label}: while cut off from some node
      commits: [], // {t, idx}: indices this node committed first
    });
  }
  const violations = []; // {t, note}

  // A new role segment closes the previous one.
  function openSeg(lane, t, seg) {
    const cur = lane.segs[lane.segs.length - 1];
    if (cur && cur.t0 === t && !cur.down) lane.segs.pop(); // replaced at once
    else if (cur) cur.t1 = t;
    seg.t0 = t;
    seg.t1 = end;
    lane.segs.push(seg);
  }

  const linkName = ([a, b]) => a + "→" + b;
  const openCut = new Array(nodes).fill(null);

  for (const e of events) {
    const lane = lanes[e.n - 1];
    if (!lane && (e.k === "state" || e.k === "crash" || e.k === "commit")) continue; // no such node
    switch (e.k) {
      case "state":
        openSeg(lane, e.t, {
          role: e.role, term: e.term || 0, lead: e.lead || 0, down: false, start: e.note === "start",
        });
        break;
      case "crash": {
        const cur = lane.segs[lane.segs.length - 1];
        openSeg(lane, e.t, { role: "crashed", term: cur ? cur.term : 0, lead: 0, down: true, start: false });
        break;
      }
      case "commit":
        lane.commits.push({ t: e.t, idx: e.idx });
        break;
      case "net": {
        // A node is cut off while some link from or to it is blocked.
        const all = (e.blocked || []).map(linkName).join(", ");
        lanes.forEach((l, i) => {
          const mine = (e.blocked || []).filter(([a, b]) => a === l.id || b === l.id).map(linkName).join(", ");
          const cur = openCut[i];
          if (cur && cur.links === mine && cur.all === all) return;
          if (cur) cur.t1 = e.t;
          openCut[i] = null;
          if (mine !== "") {
            openCut[i] = { t0: e.t, t1: end, links: mine, all, label: cutLabel(l.id, e.blocked) };
            l.cuts.push(openCut[i]);
          }
        });
        break;
      }
      case "violation":
        violations.push({ t: e.t, note: e.note || "" });
        break;
    }
  }

  const msgs = pairMessages(events);
  let maxFlight = 0;
  for (const m of msgs) if (m.t1 !== null) maxFlight = Math.max(maxFlight, m.t1 - m.t0);

  // Message types: the known ones in legend order, then any others.
  const types = [];
  const typeIndex = new Map();
  const addType = (name, color, shown) => {
    typeIndex.set(name, types.length);
    types.push({ name, color, shown, count: 0 });
  };
  for (const [name, color, shown] of MSG_TYPES) addType(name, color, shown);
  for (const m of msgs) {
    if (!typeIndex.has(m.type)) addType(m.type, EXTRA_COLORS[types.length % EXTRA_COLORS.length], true);
    m.ti = typeIndex.get(m.type);
    types[m.ti].count++;
  }

  return { nodes, end, lanes, msgs, maxFlight, types, violations };
}

// cutLabel says whom node id cannot talk to: "cut off from 2, 3" for links
// cut both ways, "can't send to 4" or "can't hear from 5" for one-way cuts.
function cutLabel(id, blocked) {
  const out = new Set(blocked.filter(([a]) => a === id).map(([, b]) => b));
  const inn = new Set(blocked.filter(([, b]) => b === id).map(([a]) => a));
  const both = [...out].filter((b) => inn.has(b));
  const parts = [];
  if (both.length) parts.push("cut off from " + both.sort((a, b) => a - b).join(", "));
  const onlyOut = [...out].filter((b) => !inn.has(b)).sort((a, b) => a - b);
  const onlyIn = [...inn].filter((a) => !out.has(a)).sort((a, b) => a - b);
  if (onlyOut.length) parts.push("can't send to " + onlyOut.join(", "));
  if (onlyIn.length) parts.push("can't hear from " + onlyIn.join(", "));
  return parts.join("; ");
}

// pairMessages turns send and recv events into messages {t0, t1, from, to,
// type, sum, fate, dup}, sorted by send time t0. fate is "delivered",
// "dropped" (it arrived at a cut link or a crashed node, at t1) or "lost"
// (no recv at all: the network lost it, or it was still in flight when the
// trace ended; t1 is null).
//
// A recv names its sender, its receiver and the summary, not which send it
// belongs to, so we match by (sender, receiver, summary): the recv takes the
// oldest unmatched identical send (first in, first out). The network loses
// messages, though, and identical messages are common (a heartbeat is the
// same every 10 ms until the commit index moves), so a plain FIFO would pair
// every later heartbeat with the one before it once one was lost. So only
// sends from the last `window` µs before the recv are candidates, where
// window is twice the usual network delay seen in this trace. A recv with
// no candidate takes the latest identical send: if that one already has its
// recv, this is a second copy (the network duplicates messages too); if not,
// it is a message the network held back for long.
function pairMessages(events) {
  // Pass 1: number each (sender, receiver, summary) once, and measure the
  // usual delay, from each recv to the latest identical send.
  const keyIds = new Map();
  const keyOf = new Int32Array(events.length).fill(-1); // event → key number
  const lastSend = []; // key number → time of its latest send
  const delays = [];
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (e.k !== "send" && e.k !== "recv") continue;
    const key = e.k === "send" ? e.n + " " + e.to + " " + e.sum : e.to + " " + e.n + " " + e.sum;
    let id = keyIds.get(key);
    if (id === undefined) {
      id = lastSend.length;
      keyIds.set(key, id);
      lastSend.push(null);
    }
    keyOf[i] = id;
    if (e.k === "send") lastSend[id] = e.t;
    else if (lastSend[id] !== null) delays.push(e.t - lastSend[id]);
  }
  const sorted = Float64Array.from(delays).sort();
  const usual = sorted.length ? sorted[Math.floor(sorted.length * 0.9)] : 0;
  const window = Math.max(2 * usual, 1000);

  // Pass 2: pair them.
  const msgs = [];
  const sends = lastSend.map(() => []); // key number → its messages, in order
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (keyOf[i] < 0) continue;
    const same = sends[keyOf[i]];
    if (e.k === "send") {
      const m = { t0: e.t, t1: null, from: e.n, to: e.to, type: e.msg, sum: e.sum, fate: "lost", dup: false };
      same.push(m);
      msgs.push(m);
      continue;
    }
    if (same.length === 0) continue; // its send was not recorded
    const fate = e.note === "dropped" ? "dropped" : "delivered";
    let pick = null;
    for (let j = same.length - 1; j >= 0 && same[j].t0 >= e.t - window; j--) {
      if (same[j].t1 === null) pick = same[j];
    }
    if (!pick) {
      const latest = same[same.length - 1];
      if (latest.t1 !== null) {
        // A duplicate: one more arrow from the same send.
        msgs.push({ ...latest, t1: e.t, fate, dup: true });
        continue;
      }
      pick = latest;
    }
    pick.t1 = e.t;
    pick.fate = fate;
  }
  msgs.sort((a, b) => a.t0 - b.t0); // duplicates were appended late
  return msgs;
}

// ---- Small helpers ------------------------------------------------------

// lowerBound returns the first index in the sorted array arr whose key(x) is
// >= v, or arr.length.
function lowerBound(arr, v, keyOf) {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (keyOf(arr[mid]) < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// ms formats a time in µs as milliseconds.
function ms(t, digits = 3) {
  return (t / 1000).toFixed(digits) + " ms";
}

const $ = (id) => document.getElementById(id);

// ---- View state ---------------------------------------------------------

const view = { t0: 0, t1: model.end }; // visible time range, µs
const MIN_SPAN = 50; // µs: the most we zoom in
const laneCanvas = $("lanes");
const overviewCanvas = $("overview");
const tip = $("tip");
let cssWidth = 0; // the canvases' width in CSS pixels
let hover = null; // what the pointer is over (see pick)
let selected = null; // what was clicked last

const plotW = () => Math.max(1, cssWidth - LEFT - RIGHT);
const xOf = (t) => LEFT + ((t - view.t0) / (view.t1 - view.t0)) * plotW();
const tOf = (x) => view.t0 + ((x - LEFT) / plotW()) * (view.t1 - view.t0);
const laneTop = (id) => AXIS_H + (id - 1) * (LANE_H + GAP);
const lanesHeight = () => AXIS_H + model.nodes * LANE_H + Math.max(0, model.nodes - 1) * GAP + BOTTOM;

// setView moves the visible range, keeping it sensible.
function setView(t0, t1) {
  const pad = model.end * 0.02;
  const span = Math.min(Math.max(t1 - t0, MIN_SPAN), model.end + 2 * pad);
  t0 = Math.min(Math.max(t0, -pad), model.end + pad - span);
  view.t0 = t0;
  view.t1 = t0 + span;
  requestDraw();
}

function zoomAt(t, factor) {
  setView(t - (t - view.t0) * factor, t + (view.t1 - t) * factor);
}

function panBy(fraction) {
  const d = (view.t1 - view.t0) * fraction;
  setView(view.t0 + d, view.t1 + d);
}

const fit = () => setView(0, model.end);

// ---- Drawing ------------------------------------------------------------

let drawPending = false;
function requestDraw() {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => {
    drawPending = false;
    draw();
  });
}

// sizeCanvas makes a canvas sharp on high-DPI screens; returns its context.
function sizeCanvas(canvas, height) {
  const dpr = window.devicePixelRatio || 1;
  canvas.style.height = height + "px";
  if (canvas.width !== Math.round(cssWidth * dpr) || canvas.height !== Math.round(height * dpr)) {
    canvas.width = Math.round(cssWidth * dpr);
    canvas.height = Math.round(height * dpr);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

// Diagonal stripes for "cut off by a partition".
const hatch = (() => {
  const c = document.createElement("canvas");
  c.width = c.height = 8;
  const g = c.getContext("2d");
  g.strokeStyle = CUT_COLOR;
  g.lineWidth = 2;
  g.beginPath();
  g.moveTo(-2, 2);
  g.lineTo(2, -2);
  g.moveTo(0, 8);
  g.lineTo(8, 0);
  g.moveTo(6, 10);
  g.lineTo(10, 6);
  g.stroke();
  return c;
})();

// Geometry of the arrows drawn in the last frame, for hover hit tests.
const hits = { n: 0, x0: new Float32Array(1024), y0: new Float32Array(1024), x1: new Float32Array(1024), y1: new Float32Array(1024), m: new Int32Array(1024) };
function addHit(x0, y0, x1, y1, i) {
  if (hits.n === hits.m.length) {
    for (const f of ["x0", "y0", "x1", "y1", "m"]) {
      const bigger = new hits[f].constructor(hits.n * 2);
      bigger.set(hits[f]);
      hits[f] = bigger;
    }
  }
  hits.x0[hits.n] = x0;
  hits.y0[hits.n] = y0;
  hits.x1[hits.n] = x1;
  hits.y1[hits.n] = y1;
  hits.m[hits.n] = i;
  hits.n++;
}

function draw() {
  cssWidth = $("lanes-wrap").clientWidth || 800;
  drawOverview();
  const ctx = sizeCanvas(laneCanvas, lanesHeight());
  ctx.clearRect(0, 0, cssWidth, lanesHeight());
  ctx.font = "12px system-ui, sans-serif";
  ctx.textBaseline = "middle";

  drawAxis(ctx);
  ctx.save();
  ctx.beginPath();
  ctx.rect(LEFT, 0, plotW(), lanesHeight());
  ctx.clip();
  for (const lane of model.lanes) drawLane(ctx, lane);
  drawMessages(ctx);
  for (const lane of model.lanes) drawLaneMarks(ctx, lane);
  drawViolations(ctx);
  drawHighlight(ctx, selected);
  drawHighlight(ctx, hover);
  ctx.restore();

  for (const lane of model.lanes) {
    ctx.fillStyle = "#222";
    ctx.textAlign = "right";
    ctx.font = "bold 13px system-ui, sans-serif";
    ctx.fillText("node " + lane.id, LEFT - 10, laneTop(lane.id) + LANE_H / 2);
  }
  hashFromView();
  $("view-range").textContent = "showing " + ms(Math.max(0, view.t0), 1) + " – " + ms(Math.min(model.end, view.t1), 1);
}

// niceStep picks a tick spacing (1, 2 or 5 × 10^k µs) at least minT apart.
function niceStep(minT) {
  let step = 1;
  while (step < minT) {
    for (const m of [2, 2.5, 2]) {
      step *= m;
      if (step >= minT) break;
    }
  }
  return step;
}

function drawAxis(ctx) {
  const step = niceStep(((view.t1 - view.t0) / plotW()) * 90);
  const digits = Math.max(0, 3 - Math.floor(Math.log10(step)));
  ctx.textAlign = "center";
  ctx.font = "11px system-ui, sans-serif";
  let free = -Infinity; // where the last label ended
  for (let t = Math.ceil(view.t0 / step) * step; t <= view.t1; t += step) {
    const x = Math.round(xOf(t)) + 0.5;
    if (x < LEFT) continue;
    ctx.strokeStyle = "#eee";
    ctx.beginPath();
    ctx.moveTo(x, AXIS_H - 6);
    ctx.lineTo(x, lanesHeight());
    ctx.stroke();
    ctx.fillStyle = "#555";
    const label = step >= 1e6 ? (t / 1e6).toFixed(0) + " s" : (t / 1000).toFixed(digits) + " ms";
    const half = ctx.measureText(label).width / 2;
    const lx = Math.max(LEFT + half, Math.min(x, cssWidth - half - 2));
    if (lx - half < free) continue; // would overlap the previous label
    ctx.fillText(label, lx, AXIS_H / 2 - 2);
    free = lx + half + 6;
  }
  ctx.textAlign = "right";
  ctx.fillStyle = "#888";
  ctx.fillText("time", LEFT - 10, AXIS_H / 2 - 2);
}

// visibleRange returns [first, end) indices of the sorted items overlapping
// the view, where each item spans [t0(x), t1(x)] and none is longer than
// maxLen.
function visibleRange(items, t0Of, maxLen) {
  const first = lowerBound(items, view.t0 - maxLen, t0Of);
  const last = lowerBound(items, view.t1 + 1, t0Of);
  return [first, last];
}

function drawLane(ctx, lane) {
  const y = laneTop(lane.id);
  const xLo = LEFT - 1;
  const xHi = cssWidth - RIGHT + 1;

  // Role segments, each with its term written in it.
  const segs = lane.segs;
  for (let i = lowerBound(segs, view.t0, (s) => s.t1); i < segs.length && segs[i].t0 <= view.t1; i++) {
    const s = segs[i];
    const x0 = Math.max(xLo, xOf(s.t0));
    const x1 = Math.min(xHi, Math.max(xOf(s.t1), x0 + 1));
    ctx.fillStyle = s.down ? CRASHED_COLOR : ROLE_COLORS[s.role] || "#ccc";
    ctx.fillRect(x0, y, x1 - x0, LANE_H);
    if (x1 - x0 > 3 && xOf(s.t0) >= LEFT) {
      ctx.fillStyle = "rgba(255,255,255,0.9)"; // a thin break between segments
      ctx.fillRect(x0, y, 1, LANE_H);
    }
  }

  // Partitions: stripes over the lane while the node is cut off.
  const pattern = ctx.createPattern(hatch, "repeat");
  for (const c of lane.cuts) {
    if (c.t1 < view.t0 || c.t0 > view.t1) continue;
    const x0 = Math.max(xLo, xOf(c.t0));
    const x1 = Math.min(xHi, Math.max(xOf(c.t1), x0 + 1));
    ctx.fillStyle = pattern;
    ctx.fillRect(x0, y, x1 - x0, LANE_H);
    ctx.fillStyle = CUT_COLOR;
    ctx.fillRect(x0, y - 3, x1 - x0, 3);
    ctx.fillRect(x0, y + LANE_H, x1 - x0, 3);
  }
}

// drawLaneMarks draws what goes on top of the arrows: the role and term
// labels, and the commits.
function drawLaneMarks(ctx, lane) {
  const y = laneTop(lane.id);
  const xLo = LEFT - 1;
  const xHi = cssWidth - RIGHT + 1;

  const segs = lane.segs;
  ctx.textAlign = "center";
  ctx.font = "12px system-ui, sans-serif";
  ctx.lineJoin = "round";
  for (let i = lowerBound(segs, view.t0, (s) => s.t1); i < segs.length && segs[i].t0 <= view.t1; i++) {
    const s = segs[i];
    const x0 = Math.max(xLo, xOf(s.t0));
    const x1 = Math.min(xHi, xOf(s.t1));
    const label = segLabel(ctx, s, x1 - x0 - 6);
    if (!label) continue;
    // A halo in the lane's colour keeps the label readable over arrows.
    ctx.strokeStyle = s.down ? CRASHED_COLOR : ROLE_COLORS[s.role] || "#ccc";
    ctx.lineWidth = 4;
    ctx.strokeText(label, (x0 + x1) / 2, y + LANE_H / 2 + 1);
    ctx.fillStyle = s.down ? "#fff" : "#222";
    ctx.fillText(label, (x0 + x1) / 2, y + LANE_H / 2 + 1);
  }
  ctx.lineWidth = 1;

  // Commits: ticks along the bottom of the lane, one per pixel at most.
  const commits = lane.commits;
  const [c0, c1] = visibleRange(commits, (c) => c.t, 0);
  ctx.strokeStyle = "#111";
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  let lastX = -1;
  for (let i = c0; i < c1; i++) {
    const x = Math.round(xOf(commits[i].t));
    if (x === lastX) continue;
    lastX = x;
    ctx.moveTo(x, y + LANE_H - 7);
    ctx.lineTo(x, y + LANE_H);
  }
  ctx.stroke();
  ctx.lineWidth = 1;
  // Label them with their index where there is room.
  ctx.fillStyle = "#222";
  ctx.textAlign = "left";
  ctx.font = "10px system-ui, sans-serif";
  let free = -Infinity; // where the last label ended
  for (let i = c0; i < c1 && c1 - c0 < 2000; i++) {
    const x = xOf(commits[i].t) + 3;
    const label = String(commits[i].idx);
    const next = i + 1 < c1 ? xOf(commits[i + 1].t) : Infinity;
    const w = ctx.measureText(label).width;
    if (x < free || x + w > next + 8) continue;
    ctx.fillText(label, x, y + LANE_H - 5);
    free = x + w + 4;
  }

  // Who the node cannot talk to, at the start of each partition band.
  ctx.font = "11px system-ui, sans-serif";
  ctx.lineWidth = 3;
  ctx.strokeStyle = "#fff";
  for (const c of lane.cuts) {
    if (c.t1 < view.t0 || c.t0 > view.t1) continue;
    const x0 = Math.max(xLo, xOf(c.t0)) + 4;
    const x1 = Math.min(xHi, xOf(c.t1)) - 4;
    if (ctx.measureText(c.label).width > x1 - x0) continue;
    ctx.strokeText(c.label, x0, y + 8);
    ctx.fillStyle = "#a01010";
    ctx.fillText(c.label, x0, y + 8);
  }
  ctx.lineWidth = 1;
}

// segLabel fits as much of "Leader · term 3" as fits in width.
function segLabel(ctx, s, width) {
  const full = s.down ? "crashed" : s.role + " · term " + s.term;
  const options = s.down ? [full, "×"] : [full, "term " + s.term, "t" + s.term, String(s.term)];
  ctx.font = "12px system-ui, sans-serif";
  for (const o of options) if (ctx.measureText(o).width <= width) return o;
  return "";
}

// arrowEnds returns where message m's arrow starts and ends, in pixels: from
// the sender lane's edge facing the receiver to the receiver lane's edge.
function arrowEnds(m) {
  const down = m.to > m.from;
  const x0 = xOf(m.t0);
  const y0 = laneTop(m.from) + (down ? LANE_H : 0);
  if (m.t1 === null) {
    // Lost: a short stub towards the receiver, ending in an ×.
    const dy = (down ? 1 : -1) * GAP * 0.6;
    return [x0, y0, x0 + 10, y0 + dy];
  }
  return [x0, y0, xOf(m.t1), laneTop(m.to) + (down ? 0 : LANE_H)];
}

function drawMessages(ctx) {
  hits.n = 0;
  const msgs = model.msgs;
  const types = model.types;
  const [first, last] = visibleRange(msgs, (m) => m.t0, model.maxFlight + tOf(LEFT + 12) - view.t0);

  let visible = 0;
  for (let i = first; i < last; i++) if (types[msgs[i].ti].shown) visible++;
  const dense = visible > DENSE;

  // One path per type, stroked at the end: much faster than one per arrow.
  const lines = types.map(() => new Path2D());
  const heads = types.map(() => new Path2D());
  const crosses = new Path2D();
  // Dense views draw an arrow only if the last one with the same type and
  // nodes did not start and end on the same pixels.
  const n1 = model.nodes + 1;
  const lastA = new Int32Array(types.length * n1 * n1).fill(-1);
  const lastB = new Int32Array(types.length * n1 * n1).fill(-1);

  for (let i = first; i < last; i++) {
    const m = msgs[i];
    if (!types[m.ti].shown) continue;
    if (m.t1 !== null && m.t1 < view.t0) continue;
    const [x0, y0, x1, y1] = arrowEnds(m);
    if (dense) {
      const slot = (m.ti * n1 + m.from) * n1 + m.to;
      const a = Math.round(x0);
      const b = Math.round(x1) * 4 + (m.fate === "delivered" ? 0 : m.fate === "dropped" ? 1 : 2);
      if (lastA[slot] === a && lastB[slot] === b) continue;
      lastA[slot] = a;
      lastB[slot] = b;
    }
    addHit(x0, y0, x1, y1, i);
    const p = lines[m.ti];
    p.moveTo(x0, y0);
    p.lineTo(x1, y1);
    if (m.fate !== "delivered") {
      addCross(crosses, x1, y1, dense ? 2.5 : 3.5);
    } else if (!dense) {
      addHead(heads[m.ti], x0, y0, x1, y1);
    }
  }

  // Dense arrows are see-through, or they would hide the lanes.
  ctx.globalAlpha = dense ? 0.3 : 1;
  ctx.lineWidth = dense ? 1 : 1.3;
  types.forEach((ty, i) => {
    ctx.strokeStyle = ty.color;
    ctx.stroke(lines[i]);
    ctx.fillStyle = ty.color;
    ctx.fill(heads[i]);
  });
  ctx.globalAlpha = dense ? 0.6 : 1;
  ctx.strokeStyle = "#000";
  ctx.lineWidth = dense ? 1 : 1.6;
  ctx.stroke(crosses);
  ctx.globalAlpha = 1;
  ctx.lineWidth = 1;
}

function addHead(path, x0, y0, x1, y1) {
  const len = Math.hypot(x1 - x0, y1 - y0);
  if (len < 8) return;
  const ux = (x1 - x0) / len;
  const uy = (y1 - y0) / len;
  const s = 7;
  path.moveTo(x1, y1);
  path.lineTo(x1 - ux * s - uy * s * 0.45, y1 - uy * s + ux * s * 0.45);
  path.lineTo(x1 - ux * s + uy * s * 0.45, y1 - uy * s - ux * s * 0.45);
  path.closePath();
}

function addCross(path, x, y, s) {
  path.moveTo(x - s, y - s);
  path.lineTo(x + s, y + s);
  path.moveTo(x - s, y + s);
  path.lineTo(x + s, y - s);
}

function drawViolations(ctx) {
  for (const v of model.violations) {
    const x = xOf(v.t);
    ctx.strokeStyle = VIOLATION_COLOR;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(x, AXIS_H - 4);
    ctx.lineTo(x, lanesHeight());
    ctx.stroke();
    ctx.lineWidth = 1;
    ctx.fillStyle = VIOLATION_COLOR;
    ctx.font = "bold 12px system-ui, sans-serif";
    const left = x > cssWidth - RIGHT - 70; // near the right edge: label on the left
    ctx.textAlign = left ? "right" : "left";
    ctx.fillText("violation", left ? x - 4 : x + 4, AXIS_H - 2);
  }
}

// drawHighlight makes the hovered or selected thing stand out.
function drawHighlight(ctx, h) {
  if (!h) return;
  if (h.kind === "msg") {
    const m = model.msgs[h.i];
    const [x0, y0, x1, y1] = arrowEnds(m);
    ctx.strokeStyle = "#000";
    ctx.lineWidth = 4;
    ctx.beginPath();
    ctx.moveTo(x0, y0);
    ctx.lineTo(x1, y1);
    ctx.stroke();
    ctx.strokeStyle = model.types[m.ti].color;
    ctx.lineWidth = 2;
    ctx.stroke();
    ctx.lineWidth = 1;
    ctx.fillStyle = "#000";
    for (const [x, y] of [[x0, y0], [x1, y1]]) {
      ctx.beginPath();
      ctx.arc(x, y, 3, 0, 2 * Math.PI);
      ctx.fill();
    }
  } else if (h.kind === "commit") {
    const x = xOf(h.c.t);
    const y = laneTop(h.lane.id);
    ctx.fillStyle = "#000";
    ctx.fillRect(x - 1.5, y + LANE_H - 12, 3, 12);
  }
}

function drawOverview() {
  const rowsH = model.nodes * OVERVIEW_ROW;
  const h = rowsH + 12;
  const ctx = sizeCanvas(overviewCanvas, h);
  ctx.clearRect(0, 0, cssWidth, h);
  const w = plotW();
  const ox = (t) => LEFT + (t / model.end) * w;
  const top = 6;
  for (const lane of model.lanes) {
    const y = top + (lane.id - 1) * OVERVIEW_ROW;
    for (const s of lane.segs) {
      ctx.fillStyle = s.down ? CRASHED_COLOR : ROLE_COLORS[s.role] || "#ccc";
      ctx.fillRect(ox(s.t0), y, Math.max(1, ox(s.t1) - ox(s.t0)), OVERVIEW_ROW - 1);
    }
    ctx.fillStyle = CUT_COLOR;
    for (const c of lane.cuts) ctx.fillRect(ox(c.t0), y + OVERVIEW_ROW - 2, Math.max(1, ox(c.t1) - ox(c.t0)), 1.5);
  }
  ctx.fillStyle = VIOLATION_COLOR;
  for (const v of model.violations) ctx.fillRect(ox(v.t) - 1, 0, 2, h);

  // The part of the run the lanes below show.
  const a = Math.max(LEFT, ox(view.t0));
  const b = Math.min(LEFT + w, ox(view.t1));
  ctx.fillStyle = "rgba(255,255,255,0.6)";
  ctx.fillRect(LEFT, 0, a - LEFT, h);
  ctx.fillRect(b, 0, LEFT + w - b, h);
  ctx.strokeStyle = "#333";
  ctx.strokeRect(a + 0.5, 1.5, Math.max(2, b - a - 1), h - 3);

  ctx.fillStyle = "#888";
  ctx.font = "11px system-ui, sans-serif";
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  ctx.fillText("whole run", LEFT - 10, h / 2);
}

// ---- What is under the pointer --------------------------------------------

// pick returns the thing at (x, y) in the lanes canvas: a message, a commit,
// a violation, a lane segment, or null.
function pick(x, y) {
  if (x < LEFT || x > cssWidth - RIGHT) return null;

  // The nearest arrow within 5 pixels.
  let best = -1;
  let bestD = 25;
  for (let i = 0; i < hits.n; i++) {
    const d = segDist2(x, y, hits.x0[i], hits.y0[i], hits.x1[i], hits.y1[i]);
    if (d < bestD) {
      bestD = d;
      best = hits.m[i];
    }
  }
  if (best >= 0) return { kind: "msg", i: best };

  for (const v of model.violations) {
    if (Math.abs(xOf(v.t) - x) <= 4) return { kind: "violation", v };
  }

  const id = Math.floor((y - AXIS_H) / (LANE_H + GAP)) + 1;
  if (id < 1 || id > model.nodes || y > laneTop(id) + LANE_H + 3) return null;
  const lane = model.lanes[id - 1];
  const t = tOf(x);
  const slack = tOf(x + 4) - t;
  const commits = lane.commits;
  const ci = lowerBound(commits, t - slack, (c) => c.t);
  if (ci < commits.length && commits[ci].t <= t + slack) return { kind: "commit", lane, c: commits[ci] };
  const seg = lane.segs[lowerBound(lane.segs, t, (s) => s.t1)];
  const cut = lane.cuts.find((c) => c.t0 <= t && t < c.t1);
  if (!seg && !cut) return null;
  return { kind: "lane", lane, seg: seg && seg.t0 <= t ? seg : null, cut, t };
}

// segDist2 is the squared distance from (px, py) to the segment (x0,y0)-(x1,y1).
function segDist2(px, py, x0, y0, x1, y1) {
  const dx = x1 - x0;
  const dy = y1 - y0;
  const len2 = dx * dx + dy * dy;
  let u = len2 > 0 ? ((px - x0) * dx + (py - y0) * dy) / len2 : 0;
  u = Math.max(0, Math.min(1, u));
  const ex = x0 + u * dx - px;
  const ey = y0 + u * dy - py;
  return ex * ex + ey * ey;
}

// describe is the text shown for a picked thing.
function describe(h) {
  switch (h.kind) {
    case "msg": {
      const m = model.msgs[h.i];
      let text = m.sum + "\nsent by node " + m.from + " at " + ms(m.t0);
      if (m.fate === "lost") {
        text += "\nnever arrived: lost by the network (or still in flight when the trace ended)";
      } else {
        const how = m.fate === "dropped" ? "reached node " + m.to + " but was dropped" : "received by node " + m.to;
        text += "\n" + how + " at " + ms(m.t1) + " (after " + ms(m.t1 - m.t0) + ")";
        if (m.fate === "dropped") text += "\ndropped: the link was cut, or node " + m.to + " was down";
      }
      if (m.dup) text += "\na duplicate: the network delivered this message twice";
      return text;
    }
    case "commit":
      return "index " + h.c.idx + " committed at " + ms(h.c.t) + "\n(node " + h.lane.id + " was the first to learn it was committed)";
    case "violation":
      return "invariant violated at " + ms(h.v.t) + "\n" + h.v.note;
    case "lane": {
      const lines = ["node " + h.lane.id + " at " + ms(h.t)];
      const s = h.seg;
      if (s && s.down) {
        lines.push("crashed from " + ms(s.t0) + " to " + ms(s.t1));
      } else if (s) {
        lines.push(s.role + " in term " + s.term + (s.lead && s.role !== "Leader" ? ", following node " + s.lead : ""));
        lines.push("from " + ms(s.t0) + " to " + ms(s.t1) + (s.start ? " (booted at " + ms(s.t0) + ")" : ""));
      }
      if (h.cut) {
        lines.push("partition from " + ms(h.cut.t0) + " to " + ms(h.cut.t1) + ": " + h.cut.label);
        lines.push("cut links of node " + h.lane.id + ": " + h.cut.links);
        if (h.cut.all !== h.cut.links) lines.push("all cut links: " + h.cut.all);
      }
      return lines.join("\n");
    }
  }
  return "";
}

// ---- Interaction ----------------------------------------------------------

function pointer(ev) {
  const r = laneCanvas.getBoundingClientRect();
  return [ev.clientX - r.left, ev.clientY - r.top];
}

let drag = null; // {x, t0, t1, moved} while the mouse button is down

laneCanvas.addEventListener("mousedown", (ev) => {
  const [x] = pointer(ev);
  drag = { x, t0: view.t0, t1: view.t1, moved: false };
  ev.preventDefault();
});

window.addEventListener("mousemove", (ev) => {
  if (drag) {
    const [x] = pointer(ev);
    if (Math.abs(x - drag.x) > 3) drag.moved = true;
    if (drag.moved) {
      laneCanvas.classList.add("dragging");
      const dt = ((x - drag.x) / plotW()) * (drag.t1 - drag.t0);
      setView(drag.t0 - dt, drag.t1 - dt);
      hideTip();
      return;
    }
  }
  if (ev.target !== laneCanvas) {
    if (hover) {
      hover = null;
      hideTip();
      requestDraw();
    }
    return;
  }
  const [x, y] = pointer(ev);
  const h = pick(x, y);
  if (!sameThing(h, hover)) {
    hover = h;
    requestDraw();
  }
  if (h) showTip(describe(h), x, y);
  else hideTip();
});

window.addEventListener("mouseup", (ev) => {
  if (drag && !drag.moved && ev.target === laneCanvas) {
    const [x, y] = pointer(ev);
    selected = pick(x, y);
    $("details").textContent = selected ? describe(selected) : "Nothing there. Hover over an arrow, a lane or a commit mark.";
    requestDraw();
  }
  drag = null;
  laneCanvas.classList.remove("dragging");
});

laneCanvas.addEventListener("mouseleave", () => {
  if (!drag) hideTip();
});

laneCanvas.addEventListener("wheel", (ev) => {
  ev.preventDefault();
  const [x] = pointer(ev);
  const dx = ev.shiftKey ? ev.deltaY : ev.deltaX;
  if (Math.abs(dx) > Math.abs(ev.shiftKey ? 0 : ev.deltaY)) {
    panBy(dx / plotW());
  } else {
    zoomAt(tOf(Math.max(LEFT, x)), Math.exp(ev.deltaY * (ev.deltaMode === 1 ? 0.05 : 0.0015)));
  }
  hideTip();
}, { passive: false });

// The overview strip: click or drag to move the view there.
let overviewDrag = false;
function overviewMove(ev) {
  const r = overviewCanvas.getBoundingClientRect();
  const t = ((ev.clientX - r.left - LEFT) / plotW()) * model.end;
  const span = view.t1 - view.t0;
  setView(t - span / 2, t + span / 2);
}
overviewCanvas.addEventListener("mousedown", (ev) => {
  overviewDrag = true;
  overviewMove(ev);
  ev.preventDefault();
});
window.addEventListener("mousemove", (ev) => overviewDrag && overviewMove(ev));
window.addEventListener("mouseup", () => (overviewDrag = false));

$("zoom-in").onclick = () => zoomAt((view.t0 + view.t1) / 2, 0.5);
$("zoom-out").onclick = () => zoomAt((view.t0 + view.t1) / 2, 2);
$("pan-left").onclick = () => panBy(-0.25);
$("pan-right").onclick = () => panBy(0.25);
$("zoom-fit").onclick = fit;

const jump = $("jump-violation");
if (jump) {
  jump.onclick = () => {
    const t = Number(jump.dataset.t);
    setView(t - 40000, t + 10000); // the 40 ms before it, and a little after
    laneCanvas.scrollIntoView({ block: "nearest" });
  };
}

document.addEventListener("keydown", (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const actions = {
    ArrowLeft: () => panBy(-0.2),
    ArrowRight: () => panBy(0.2),
    "+": () => zoomAt((view.t0 + view.t1) / 2, 0.5),
    "=": () => zoomAt((view.t0 + view.t1) / 2, 0.5),
    "-": () => zoomAt((view.t0 + view.t1) / 2, 2),
    0: fit,
  };
  if (actions[ev.key]) {
    actions[ev.key]();
    ev.preventDefault();
  }
});

window.addEventListener("resize", requestDraw);

function sameThing(a, b) {
  if (!a || !b) return a === b;
  return a.kind === b.kind && a.i === b.i && a.c === b.c && a.v === b.v && a.seg === b.seg && a.cut === b.cut && a.lane === b.lane;
}

function showTip(text, x, y) {
  tip.textContent = text;
  tip.hidden = false;
  const w = tip.offsetWidth;
  tip.style.left = Math.max(0, Math.min(x + 14, cssWidth - w - 4)) + "px";
  const h = tip.offsetHeight;
  tip.style.top = (y + 18 + h > lanesHeight() ? Math.max(0, y - h - 10) : y + 18) + "px";
}

function hideTip() {
  tip.hidden = true;
}

// Message type filters, with their colours and counts.
function buildTypeFilters() {
  const box = $("types");
  model.types.forEach((ty) => {
    if (ty.count === 0 && !MSG_TYPES.some(([n]) => n === ty.name)) return;
    const label = document.createElement("label");
    const cb = document.createElement("input");
    cb.type = "checkbox";
    cb.checked = ty.shown;
    cb.onchange = () => {
      ty.shown = cb.checked;
      hover = selected = null;
      requestDraw();
    };
    const sw = document.createElement("i");
    sw.className = "swatch line";
    sw.style.background = ty.color;
    const count = document.createElement("span");
    count.className = "count";
    count.textContent = " " + ty.count;
    label.append(cb, sw, ty.name, count);
    box.append(label);
  });
}

// ---- Start ----------------------------------------------------------------

// The address can name a time range in ms, like trace.html#5200-5350: the
// view starts there, and follows the view so that the link can be shared.
function viewFromHash() {
  const m = /^#(-?[\d.]+)-(-?[\d.]+)$/.exec(location.hash);
  if (m && Number(m[2]) > Number(m[1])) setView(Number(m[1]) * 1000, Number(m[2]) * 1000);
}
function hashFromView() {
  const digits = view.t1 - view.t0 < 10000 ? 3 : 1;
  const h = "#" + (view.t0 / 1000).toFixed(digits) + "-" + (view.t1 / 1000).toFixed(digits);
  if (h !== location.hash) {
    try {
      history.replaceState(null, "", h);
    } catch (e) {
      // Some browsers refuse for file:// pages; the link is a nicety.
    }
  }
}
window.addEventListener("hashchange", viewFromHash);

buildTypeFilters();
viewFromHash();
draw(); // at once, not on the next frame, so the page is complete on load
$("status").textContent = "trace-ok";
