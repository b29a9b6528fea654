// drover dashboard: draws the floor to scale, follows /api/events (SSE), draws zones.
// No build step and no CDN: plain browser JavaScript served by droverd.
"use strict";

const params = new URLSearchParams(location.search);
const token = params.get("token");
const authHeaders = token ? { Authorization: "Bearer " + token } : {};
// Writes must say they are JSON (droverd answers 415 otherwise), bodies or not.
const writeHeaders = { "Content-Type": "application/json", ...authHeaders };
// Only EventSource needs the token in its URL: it cannot set headers.
const withToken = (url) => (token ? url + (url.includes("?") ? "&" : "?") + "access_token=" + encodeURIComponent(token) : url);

const COLORS = {
  "@": "#05070a", ".": "#2a323b", s: "#3b3326", f: "#1f6f4a", q: "#1c4a36", c: "#6b5a12", p: "#2f3a4a",
  E: "#444", S: "#444", e: "#444", r: "#444", i: "#444", j: "#444",
};

const state = { floor: null, robots: new Map(), stations: [], zones: new Map(), pods: new Set(), moves: 0, selected: null, kpis: null };
const canvas = document.getElementById("floor");
const ctx = canvas.getContext("2d");
let cellPx = 8;
let drag = null;

async function getJson(url) {
  const r = await fetch(url, { headers: authHeaders });
  if (!r.ok) throw new Error(url + ": " + r.status);
  return r.json();
}

function cellXY(cell) {
  const w = state.floor.width;
  return [cell % w, Math.floor(cell / w)];
}

function resize() {
  const wrap = document.getElementById("floorwrap");
  const f = state.floor;
  cellPx = Math.max(3, Math.min(24, Math.floor(Math.min(wrap.clientWidth / f.width, wrap.clientHeight / f.height))));
  canvas.width = f.width * cellPx;
  canvas.height = f.height * cellPx;
  draw();
}

function draw() {
  const f = state.floor;
  if (!f) return;
  for (let row = 0; row < f.height; row++) {
    const line = f.rows[row];
    for (let col = 0; col < f.width; col++) {
      ctx.fillStyle = COLORS[line[col]] || "#333";
      ctx.fillRect(col * cellPx, row * cellPx, cellPx, cellPx);
    }
  }
  // Pods standing in their slots (a lifted pod is drawn with its robot).
  ctx.fillStyle = "#9a7440";
  const inset = Math.max(1, Math.round(cellPx * 0.2));
  for (const c of state.pods) {
    const [x, y] = cellXY(c);
    ctx.fillRect(x * cellPx + inset, y * cellPx + inset, cellPx - 2 * inset, cellPx - 2 * inset);
  }
  for (const z of state.zones.values()) {
    ctx.fillStyle = z.mode === "slow" ? "rgba(255,179,71,0.35)" : "rgba(255,92,92,0.40)";
    for (const c of z.cells) {
      const [x, y] = cellXY(c);
      ctx.fillRect(x * cellPx, y * cellPx, cellPx, cellPx);
    }
    // The associates' access path into a blocked zone: closed to robots too.
    ctx.fillStyle = "rgba(255,92,92,0.22)";
    for (const c of z.access || []) {
      const [x, y] = cellXY(c);
      ctx.fillRect(x * cellPx, y * cellPx, cellPx, cellPx);
    }
  }
  ctx.font = Math.max(9, cellPx) + "px sans-serif";
  for (const s of f.stations) {
    const st = state.stations.find((x) => x.name === s.name);
    const [x, y] = cellXY(s.face);
    ctx.fillStyle = st && st.associate ? "#7fffb0" : "#888";
    ctx.fillText(s.name + (st ? " (" + st.queue + ")" : ""), x * cellPx + cellPx, y * cellPx);
  }
  for (const r of state.robots.values()) {
    const cx = (r.col + 0.5) * cellPx, cy = (r.row + 0.5) * cellPx;
    ctx.fillStyle = r.silent || r.out_of_service ? "#ff5c5c" : r.carrying ? "#4fb3ff" : "#d0d0d0";
    ctx.beginPath();
    ctx.arc(cx, cy, cellPx * 0.42, 0, 2 * Math.PI);
    ctx.fill();
    if (r.zone_held) {
      // Held in a blocked zone: paused until the zone is deleted.
      ctx.strokeStyle = "#ffd000";
      ctx.lineWidth = 2;
      ctx.stroke();
      ctx.lineWidth = 1;
    }
    // Heading: theta is counter-clockwise from east with y north; the canvas y points down.
    ctx.strokeStyle = "#000";
    ctx.beginPath();
    ctx.moveTo(cx, cy);
    ctx.lineTo(cx + Math.cos(r.theta) * cellPx * 0.45, cy - Math.sin(r.theta) * cellPx * 0.45);
    ctx.stroke();
    if (state.selected && state.selected.robot === r.serial) {
      ctx.strokeStyle = "#fff";
      ctx.strokeRect(r.col * cellPx, r.row * cellPx, cellPx, cellPx);
    }
  }
  if (drag && drag.to) {
    const [a, b] = rectOf(drag);
    ctx.strokeStyle = drag.slow ? "#ffb347" : "#ff5c5c";
    ctx.strokeRect(a[0] * cellPx, a[1] * cellPx, (b[0] - a[0] + 1) * cellPx, (b[1] - a[1] + 1) * cellPx);
  }
  document.body.dataset.robots = String(state.robots.size);
  document.body.dataset.pods = String(state.pods.size);
  document.body.dataset.moves = String(state.moves);
}

function rectOf(d) {
  return [
    [Math.min(d.from[0], d.to[0]), Math.min(d.from[1], d.to[1])],
    [Math.max(d.from[0], d.to[0]), Math.max(d.from[1], d.to[1])],
  ];
}

function renderPanels() {
  const k = state.kpis;
  if (k) {
    const t = k.tasks || {};
    document.getElementById("k-done").textContent = t.done || 0;
    document.getElementById("k-open").textContent = (t.queued || 0) + (t.assigned || 0) + (t.in_progress || 0);
    document.getElementById("k-tph").textContent = k.tasks_per_hour;
    document.getElementById("k-uph").textContent = k.uph;
    document.getElementById("k-starve").textContent = k.starvation_pct;
    document.getElementById("k-tick").textContent = k.tick_ms_p99.toFixed(1);
    document.getElementById("robotcounts").textContent = Object.entries(k.robots || {})
      .map(([a, n]) => a + ": " + n).join(" · ");
  }
  const tbody = document.querySelector("#stations tbody");
  tbody.innerHTML = "";
  for (const s of state.stations) {
    const tr = document.createElement("tr");
    tr.className = "station";
    tr.dataset.name = s.name;
    for (const v of [s.name, s.associate || "—", s.queue + "/" + s.target, s.uph, s.starvation_pct + "%"]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.appendChild(td);
    }
    tr.onclick = () => select({ station: s.name });
    tbody.appendChild(tr);
  }
  const zbody = document.querySelector("#zones tbody");
  zbody.innerHTML = "";
  for (const z of state.zones.values()) {
    const tr = document.createElement("tr");
    tr.className = "zone";
    tr.dataset.name = z.name;
    tr.innerHTML = "<td></td><td></td><td></td>";
    tr.children[0].textContent = z.name;
    tr.children[1].textContent = z.mode + " · " + z.cells.length + " cells";
    const del = document.createElement("button");
    del.textContent = "delete";
    del.onclick = async () => { await fetch("/api/zones/" + z.id, { method: "DELETE", headers: writeHeaders }); };
    tr.children[2].appendChild(del);
    zbody.appendChild(tr);
  }
  renderDetails();
}

// The fleet-wide pause button: its label follows the live view.
const fleetButton = document.getElementById("fleet");
let fleetPaused = false;
function renderFleet(paused) {
  fleetPaused = !!paused;
  fleetButton.textContent = fleetPaused ? "resume fleet" : "pause fleet";
  fleetButton.classList.toggle("paused", fleetPaused);
  document.body.dataset.fleetPaused = String(fleetPaused);
}
fleetButton.onclick = async () => {
  const action = fleetPaused ? "resume" : "pause";
  const r = await fetch("/api/fleet/" + action, { method: "POST", headers: writeHeaders });
  if (r.ok) renderFleet(!fleetPaused);
};

function renderAlerts(alerts) {
  const el = document.getElementById("alerts");
  el.innerHTML = "";
  for (const a of alerts || []) {
    const d = document.createElement("div");
    d.className = "alert";
    d.textContent = a;
    el.appendChild(d);
  }
}

function select(sel) {
  state.selected = sel;
  renderDetails();
  draw();
}

function renderDetails() {
  const el = document.getElementById("details");
  const sel = state.selected;
  if (!sel) return;
  el.classList.remove("hint");
  if (sel.robot) {
    const r = state.robots.get(sel.robot);
    el.textContent = r ? JSON.stringify(r, null, 1) : sel.robot + " (unknown)";
  } else if (sel.station) {
    const s = state.stations.find((x) => x.name === sel.station);
    el.textContent = JSON.stringify(s, null, 1);
  }
}

function cellAt(ev) {
  const rect = canvas.getBoundingClientRect();
  return [Math.floor((ev.clientX - rect.left) / cellPx), Math.floor((ev.clientY - rect.top) / cellPx)];
}

canvas.addEventListener("mousedown", (ev) => { drag = { from: cellAt(ev), to: null, slow: ev.shiftKey }; });
canvas.addEventListener("mousemove", (ev) => { if (drag) { drag.to = cellAt(ev); draw(); } });
canvas.addEventListener("mouseup", async (ev) => {
  const d = drag;
  drag = null;
  if (!d) return;
  const to = cellAt(ev);
  if (to[0] === d.from[0] && to[1] === d.from[1]) {
    for (const r of state.robots.values()) {
      if (r.col === to[0] && r.row === to[1]) return select({ robot: r.serial });
    }
    const cell = to[1] * state.floor.width + to[0];
    const st = state.floor.stations.find((s) => s.face === cell || s.queue.includes(cell));
    if (st) select({ station: st.name });
    return;
  }
  d.to = to;
  const [a, b] = rectOf(d);
  const body = { name: "zone " + new Date().toLocaleTimeString(), mode: d.slow ? "slow" : "blocked",
    rect: { col: a[0], row: a[1], width: b[0] - a[0] + 1, height: b[1] - a[1] + 1 } };
  if (d.slow) body.max_speed = 0.3; else body.access = true;
  const r = await fetch("/api/zones", { method: "POST", headers: writeHeaders, body: JSON.stringify(body) });
  if (!r.ok) document.getElementById("details").textContent = "zone refused: " + (await r.text());
  draw();
});

function applyLive(live) {
  state.robots = new Map(live.robots.map((r) => [r.serial, r]));
  state.stations = live.stations;
  state.zones = new Map(live.zones.map((z) => [z.id, z]));
  state.pods = new Set(live.pods);
  state.kpis = live.kpis;
  renderAlerts(live.alerts);
  renderFleet(live.fleet_paused);
  renderPanels();
  draw();
}

async function reload() {
  applyLive(await getJson("/api/live"));
}

function follow() {
  const es = new EventSource(withToken("/api/events"));
  const status = document.getElementById("status");
  es.onopen = () => { status.textContent = "live"; status.className = ""; };
  es.onerror = () => { status.textContent = "reconnecting…"; status.className = "down"; };
  es.addEventListener("reset", () => reload());
  es.addEventListener("robots", (ev) => {
    for (const m of JSON.parse(ev.data)) {
      const r = state.robots.get(m.serial) || { serial: m.serial };
      Object.assign(r, m);
      state.robots.set(m.serial, r);
      state.moves++;
    }
    draw();
    if (state.selected && state.selected.robot) renderDetails();
  });
  es.addEventListener("station", (ev) => {
    const s = JSON.parse(ev.data);
    const k = state.stations.findIndex((x) => x.name === s.name);
    if (k >= 0) state.stations[k] = s; else state.stations.push(s);
    renderPanels();
  });
  es.addEventListener("zone", (ev) => {
    const z = JSON.parse(ev.data);
    if (z.deleted) state.zones.delete(z.id); else state.zones.set(z.id, z);
    renderPanels();
    draw();
  });
}

async function main() {
  state.floor = await getJson("/api/floor");
  document.getElementById("floorname").textContent = state.floor.name;
  resize();
  window.addEventListener("resize", resize);
  await reload();
  follow();
  // KPIs and alerts change every tick; a light poll keeps them fresh.
  setInterval(async () => {
    try {
      const live = await getJson("/api/live");
      state.kpis = live.kpis;
      state.stations = live.stations;
      state.pods = new Set(live.pods);
      renderAlerts(live.alerts);
      renderFleet(live.fleet_paused);
      renderPanels();
    } catch (e) { /* the event stream shows the connection state */ }
  }, 2000);
  document.body.dataset.ready = "true";
}

main().catch((e) => {
  document.getElementById("status").textContent = "error: " + e.message;
  document.getElementById("status").className = "down";
});
