// strom dashboard: a small single-page app over the REST API (no build step).
// Pages are hash routes (#/overview, #/jobs, #/jobs/<id>/<tab>, #/taskmanagers, #/demo);
// the current page polls the API every refresh interval. dagre lays out the job graph, uPlot draws
// the charts (both vendored under web/vendor/).
"use strict";

// How often the page polls: ?refresh=<ms> in the address, else the server's refresh-interval
// (GET /config, as Flink's web.refresh-interval), else 3 s.
const REFRESH_OVERRIDE_MS = Number(new URLSearchParams(location.search).get("refresh")) || 0;
const HISTORY = 300; // chart points kept (15 minutes at one per 3 s)
const MIN_EPOCH_MS = 1e12; // a watermark below this is not wall time: no lag is shown
const TOKEN_KEY = "strom.dashboard.token";
const CHECKPOINT_ROWS = 20; // the newest checkpoints the history table shows

// -- helpers -----------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children.flat()) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

const fmt = {
  int: (n) => (typeof n === "number" ? Math.round(n).toLocaleString("en-US") : "–"),
  rate: (n) => (typeof n === "number" ? (n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1)) : "–"),
  pct: (r) => (typeof r === "number" ? `${Math.round(r * 100)} %` : "–"),
  ms(ms) {
    if (typeof ms !== "number" || ms < 0) return "–";
    if (ms < 1) return `${ms.toFixed(2)} ms`;
    if (ms < 1000) return `${Math.round(ms)} ms`;
    const s = ms / 1000;
    if (s < 60) return `${s.toFixed(1)} s`;
    const m = Math.floor(s / 60), h = Math.floor(m / 60);
    return h ? `${h} h ${m % 60} min` : `${m} min ${Math.floor(s % 60)} s`;
  },
  bytes(b) {
    if (typeof b !== "number" || b < 0) return "–";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (b >= 1024 && i < units.length - 1) { b /= 1024; i++; }
    return i ? `${b.toFixed(1)} ${units[i]}` : `${b} B`;
  },
  time: (ms) => (typeof ms === "number" && ms > 0 ? new Date(ms).toLocaleString() : "–"),
  clock(ms) { // the time of day, with the date when it is not today's
    if (typeof ms !== "number" || ms <= 0) return "–";
    const d = new Date(ms);
    return d.toDateString() === new Date().toDateString() ? d.toLocaleTimeString() : d.toLocaleString();
  },
};

// Make `parent`'s children look like `children` (detached nodes built afresh each poll),
// touching only what differs, so a poll that changes a few numbers re-lays out little.
function patch(parent, children) {
  const old = parent.childNodes;
  if (old.length !== children.length) { parent.replaceChildren(...children); return; }
  children.forEach((fresh, i) => {
    const node = old[i];
    if (node.nodeType !== fresh.nodeType || node.nodeName !== fresh.nodeName) {
      node.replaceWith(fresh);
    } else if (node.nodeType === Node.TEXT_NODE) {
      if (node.nodeValue !== fresh.nodeValue) node.nodeValue = fresh.nodeValue;
    } else {
      for (const { name } of [...node.attributes]) if (!fresh.hasAttribute(name)) node.removeAttribute(name);
      for (const { name, value } of fresh.attributes) if (node.getAttribute(name) !== value) node.setAttribute(name, value);
      patch(node, [...fresh.childNodes]);
    }
  });
}

function stateBadge(state) { return el("span", { class: `state ${state}` }, state); }

function toast(text, ms = 6000) {
  const box = document.getElementById("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, ms);
}

// -- the API -----------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

function takeTokenFromUrl() {
  const m = location.hash.match(/(?:^#|[&?])token=([^&]*)/);
  if (!m) return;
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
  history.replaceState(null, "", location.pathname + location.search + "#/overview");
}

async function api(path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    options = { ...options, body: JSON.stringify(options.json) };
  }
  const response = await fetch(path, { ...options, headers });
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  if (!response.ok) {
    const errors = (body && body.errors) || [`${response.status} ${response.statusText}`];
    throw new ApiError(response.status, errors.join("; "));
  }
  return body;
}

// -- pages -------------------------------------------------------------------------------

class OverviewPage {
  constructor(root, { jobsOnly = false } = {}) {
    this.jobsOnly = jobsOnly;
    this.cards = el("div", { class: "cards" });
    const open = (ev) => {
      const tr = ev.target.closest("tr[data-job-id]");
      if (tr && !ev.target.closest("a")) location.hash = `#/jobs/${tr.dataset.jobId}`;
    };
    this.running = el("tbody", { onclick: open });
    this.done = el("tbody", { onclick: open });
    const head = () => el("thead", {}, el("tr", {}, ["Job", "State", "Start time", "Duration", "Tasks"]
      .map((t) => el("th", {}, t))));
    root.append(
      jobsOnly ? el("h1", {}, "Jobs") : el("h1", {}, "Overview"),
      jobsOnly ? null : this.cards,
      el("h2", {}, "Running jobs"), el("table", { id: "running-jobs" }, head(), this.running),
      el("h2", {}, "Completed jobs"), el("table", { id: "completed-jobs" }, head(), this.done));
  }

  async update() {
    const [overview, jobs] = await Promise.all([api("/overview"), api("/jobs/overview")]);
    if (!this.jobsOnly) {
      const card = (label, value, id) => el("div", { class: "card", id },
        el("div", { class: "label" }, label), el("div", { class: "value" }, value));
      patch(this.cards, [
        card("TaskManagers", overview.taskmanagers, "card-taskmanagers"),
        card("Task slots", `${overview["slots-available"]} free of ${overview["slots-total"]}`, "card-slots"),
        card("Running jobs", overview["jobs-running"], "card-running"),
        card("Finished", overview["jobs-finished"], "card-finished"),
        card("Cancelled", overview["jobs-cancelled"], "card-cancelled"),
        card("Failed", overview["jobs-failed"], "card-failed")]);
    }
    const row = (j) => el("tr", { class: "clickable", "data-job-id": j.jid },
      el("td", {}, el("a", { href: `#/jobs/${j.jid}` }, j.name)), el("td", {}, stateBadge(j.state)),
      el("td", {}, fmt.time(j["start-time"])), el("td", {}, fmt.ms(j.duration)),
      el("td", {}, `${j.tasks.running} running of ${j.tasks.total}`));
    const terminal = new Set(["FINISHED", "CANCELED", "FAILED"]);
    const sorted = jobs.jobs.slice().sort((a, b) => b["start-time"] - a["start-time"]);
    const fill = (body, list) => patch(body, (list.length ? list.map(row)
      : [el("tr", {}, el("td", { colspan: 5, class: "empty" }, "none"))]));
    fill(this.running, sorted.filter((j) => !terminal.has(j.state)));
    fill(this.done, sorted.filter((j) => terminal.has(j.state)));
  }
}

class TaskManagersPage {
  constructor(root) {
    this.body = el("tbody");
    root.append(el("h1", {}, "TaskManagers"), el("table", { id: "taskmanagers" },
      el("thead", {}, el("tr", {}, ["Id", "Address", "Slots", "Free slots", "CPU cores", "CPU load",
        "Physical memory", "Memory used", "PID", "Last heartbeat"].map((t) => el("th", {}, t)))), this.body));
  }

  async update() {
    const { taskmanagers } = await api("/taskmanagers");
    const details = await Promise.all(taskmanagers.map((tm) =>
      api(`/taskmanagers/${encodeURIComponent(tm.id)}`).catch(() => ({}))));
    patch(this.body, taskmanagers.map((tm, i) => {
      const m = details[i].metrics || {};
      return el("tr", { "data-taskmanager-id": tm.id },
        el("td", {}, tm.id), el("td", {}, tm.path), el("td", { class: "num" }, tm.slotsNumber),
        el("td", { class: "num" }, tm.freeSlots), el("td", { class: "num" }, tm.hardware.cpuCores),
        el("td", { class: "num" }, m.cpuLoad >= 0 ? fmt.pct(m.cpuLoad) : "–"),
        el("td", { class: "num" }, fmt.bytes(tm.hardware.physicalMemory)),
        el("td", { class: "num" }, m.memoryRss >= 0 ? fmt.bytes(m.memoryRss) : "–"),
        el("td", { class: "num" }, tm.pid), el("td", {}, `${fmt.ms(tm.lastHeartbeatAgeMs)} ago`));
    }));
  }
}

// The job page: graph, vertices, charts; checkpoints; exceptions; configuration.
const VERTEX_METRICS = ["busyTimeMsPerSecond", "backPressuredTimeMsPerSecond", "idleTimeMsPerSecond",
  "numRecordsInPerSecond", "numRecordsOutPerSecond", "currentInputWatermark", "currentOutputWatermark"];
const TABS = [["overview", "Overview"], ["checkpoints", "Checkpoints"], ["exceptions", "Exceptions"],
  ["configuration", "Configuration"]];

class JobPage {
  constructor(root, jid, tab) {
    this.jid = jid;
    this.tab = TABS.some(([t]) => t === tab) ? tab : "overview";
    this.title = el("span", {}, "Job");
    this.badge = el("span");
    this.cancelButton = el("button", { class: "danger", id: "cancel-job", onclick: () => this.cancel() }, "Cancel job");
    this.savepointButton = el("button", { id: "trigger-savepoint", onclick: () => this.savepoint() }, "Trigger savepoint");
    this.meta = el("div", { class: "meta" });
    this.body = el("div");
    root.append(el("h1", {}, this.title, this.badge,
      el("span", { class: "actions" }, this.savepointButton, this.cancelButton)),
      this.meta,
      el("div", { class: "tabs" }, TABS.map(([t, label]) => el("a", {
        href: `#/jobs/${jid}/${t}`, class: t === this.tab ? "active" : "", "data-tab": t }, label))),
      this.body);
    this.graph = null; // the laid out plan, once known
    this.history = { t: [], in: {}, out: {}, lag: {} };
    this.charts = [];
    this.mountTab();
  }

  mountTab() {
    this.body.replaceChildren();
    if (this.tab === "overview") {
      const select = (ev) => {
        const target = ev.target.closest("[data-vertex-id]");
        if (target) this.select(target.dataset.vertexId);
      };
      this.dag = el("div", { class: "dag", id: "job-graph", onclick: select });
      this.vertexBody = el("tbody", { onclick: select });
      this.detail = el("div", { id: "vertex-detail" });
      this.chartBox = el("div", { class: "charts" });
      this.body.append(
        this.dag,
        el("div", { class: "legend" }, el("span", {}, el("i", { style: `background:${busyColour(0, 0)}` }), "idle"),
          el("span", {}, el("i", { style: `background:${busyColour(1, 0)}` }), "busy"),
          el("span", {}, el("i", { style: `background:${busyColour(0, 1)}` }), "backpressured")),
        el("table", { id: "vertices" }, el("thead", {}, el("tr", {}, ["Vertex", "Parallelism", "Status",
          "Records received", "Records sent", "In / s", "Out / s", "Busy", "Backpressure", "Watermark",
          "Watermark lag"].map((t, i) => el("th", { class: i >= 3 && i <= 7 ? "num" : "" }, t)))), this.vertexBody),
        this.detail, this.chartBox);
    } else if (this.tab === "checkpoints") {
      this.cpCounts = el("div", { class: "cards" });
      this.cpBody = el("tbody");
      this.cpConfig = el("tbody");
      this.body.append(this.cpCounts, el("h2", {}, "History"),
        el("table", { id: "checkpoints" }, el("thead", {}, el("tr", {}, ["ID", "Status", "Type", "Triggered",
          "End to end", "Alignment", "Sync", "State size", "Per operator", "Path"].map((t) => el("th", {}, t)))),
        this.cpBody),
        el("h2", {}, "Checkpointing configuration"), el("table", { id: "checkpoint-config" }, this.cpConfig));
    } else if (this.tab === "exceptions") {
      this.exBox = el("div", { id: "exceptions" });
      this.body.append(this.exBox);
    } else {
      this.confBody = el("tbody");
      this.body.append(el("table", { id: "job-config" }, el("thead", {}, el("tr", {}, el("th", {}, "Key"),
        el("th", {}, "Value"))), this.confBody));
    }
  }

  async update() {
    const job = await api(`/jobs/${this.jid}`);
    this.job = job;
    this.title.textContent = job.name;
    patch(this.badge, [stateBadge(job.state)]);
    const running = !["FINISHED", "CANCELED", "FAILED", "CANCELLING"].includes(job.state);
    this.cancelButton.disabled = !running;
    this.savepointButton.disabled = job.state !== "RUNNING";
    this.meta.textContent = `id ${job.jid} · started ${fmt.time(job["start-time"])} · duration ` +
      `${fmt.ms(job.duration)} · executor ${job.executor || "–"} · ${job.vertices.length} ${job.vertices.length === 1 ? "vertex" : "vertices"}`;
    const metrics = await this.vertexMetrics(job);
    this.record(job, metrics);
    if (this.tab === "overview") {
      this.showOverview(job, metrics);
      if (this.selected) await this.showVertex(job);
    }
    else if (this.tab === "checkpoints") await this.showCheckpoints();
    else if (this.tab === "exceptions") await this.showExceptions();
    else await this.showConfiguration();
  }

  async vertexMetrics(job) {
    if (!["RUNNING", "CANCELLING", "FAILING"].includes(job.state) && this.lastMetrics) return this.lastMetrics;
    const get = VERTEX_METRICS.join(",");
    const answers = await Promise.all(job.vertices.map((v) =>
      api(`/jobs/${this.jid}/vertices/${v.id}/subtasks/metrics?get=${get}`)));
    const out = {};
    job.vertices.forEach((v, i) => {
      const m = Object.fromEntries(answers[i].map((a) => [a.id, a]));
      const value = (name, agg) => (m[name] ? m[name][agg] : undefined);
      const wm = value("currentOutputWatermark", "min") ?? value("currentInputWatermark", "min");
      out[v.id] = {
        busy: (value("busyTimeMsPerSecond", "max") ?? 0) / 1000,
        backpressure: (value("backPressuredTimeMsPerSecond", "max") ?? 0) / 1000,
        inRate: value("numRecordsInPerSecond", "sum"), outRate: value("numRecordsOutPerSecond", "sum"),
        watermark: typeof wm === "number" && wm > -1e15 ? wm : null,
      };
    });
    this.lastMetrics = out;
    return out;
  }

  record(job, metrics) {
    const h = this.history, now = Date.now() / 1000;
    h.t.push(now);
    for (const v of job.vertices) {
      const m = metrics[v.id] || {};
      for (const [key, value] of [["in", m.inRate], ["out", m.outRate],
        ["lag", m.watermark != null && m.watermark > MIN_EPOCH_MS ? Math.max(0, Date.now() - m.watermark) / 1000 : null]]) {
        (h[key][v.id] ||= new Array(h.t.length - 1).fill(null)).push(value ?? null);
      }
    }
    if (h.t.length > HISTORY) {
      h.t.shift();
      for (const key of ["in", "out", "lag"]) for (const id in h[key]) h[key][id].shift();
    }
  }

  showOverview(job, metrics) {
    if (!this.graph || this.graph.key !== job.plan.nodes.map((n) => n.id).join()) this.layout(job);
    for (const v of job.vertices) {
      const node = this.graph.nodes[v.id];
      const m = metrics[v.id] || { busy: 0, backpressure: 0 };
      if (!node) continue;
      node.rect.setAttribute("fill", busyColour(m.busy, m.backpressure));
      node.stats.textContent = `busy ${fmt.pct(m.busy)} · backpressured ${fmt.pct(m.backpressure)}`;
      node.watermark.textContent = m.watermark == null ? "no watermark yet"
        : `watermark ${m.watermark > MIN_EPOCH_MS ? fmt.clock(m.watermark) : m.watermark}`;
      node.group.dataset.busy = m.busy;
      node.group.dataset.backpressure = m.backpressure;
    }
    patch(this.vertexBody, job.vertices.map((v) => {
      const m = metrics[v.id] || {};
      const level = m.backpressure <= 0.1 ? "ok" : m.backpressure <= 0.5 ? "low" : "high";
      const lag = m.watermark != null && m.watermark > MIN_EPOCH_MS ? fmt.ms(Math.max(0, Date.now() - m.watermark)) : "–";
      return el("tr", { "data-vertex-name": v.name, "data-vertex-id": v.id, class: v.id === this.selected && "selected" },
        el("td", {}, v.name), el("td", { class: "num" }, v.parallelism), el("td", {}, stateBadge(v.status)),
        el("td", { class: "num records-in" }, fmt.int(v.metrics["read-records"])),
        el("td", { class: "num records-out" }, fmt.int(v.metrics["write-records"])),
        el("td", { class: "num" }, fmt.rate(m.inRate)), el("td", { class: "num" }, fmt.rate(m.outRate)),
        el("td", { class: "num" }, fmt.pct(m.busy)),
        el("td", { class: `level-${level}` }, `${level} (${fmt.pct(m.backpressure)})`),
        el("td", {}, m.watermark == null ? "none" : m.watermark > MIN_EPOCH_MS ? fmt.clock(m.watermark) : m.watermark),
        el("td", {}, lag));
    }));
    this.drawCharts(job);
  }

  select(vid) {
    this.selected = this.selected === vid ? null : vid; // a second click closes the details
    for (const node of this.body.querySelectorAll("[data-vertex-id]")) {
      node.classList.toggle("selected", node.dataset.vertexId === this.selected);
    }
    if (!this.selected) { this.detail.replaceChildren(); return; }
    this.detail.replaceChildren(el("div", { class: "empty" }, "loading the subtasks…"));
    if (this.job) this.showVertex(this.job).catch((e) => toast(e.message));
  }

  // The selected vertex's subtasks: state, TaskManager, records, busy / backpressure, watermark.
  async showVertex(job) {
    const vid = this.selected;
    const base = `/jobs/${this.jid}/vertices/${vid}`;
    const [vertex, bp, wms] = await Promise.all([api(base), api(`${base}/backpressure`), api(`${base}/watermarks`)]);
    if (vid !== this.selected) return;
    const marks = Object.fromEntries(wms.map((w) => [w.id, Number(w.value)]));
    const pressure = Object.fromEntries(bp.subtasks.map((s) => [s.subtask, s]));
    const rows = vertex.subtasks.map((st) => {
      const b = pressure[st.subtask] || {};
      const wm = marks[`${st.subtask}.currentInputWatermark`];
      return el("tr", { "data-subtask": st.subtask }, el("td", { class: "num" }, st.subtask), el("td", {}, stateBadge(st.status)),
        el("td", {}, st["taskmanager-id"]), el("td", { class: "num" }, fmt.int(st.metrics["read-records"])),
        el("td", { class: "num" }, fmt.int(st.metrics["write-records"])), el("td", { class: "num" }, fmt.pct(b.busyRatio)),
        el("td", { class: `level-${b["backpressure-level"] || "ok"}` }, `${b["backpressure-level"] || "–"} (${fmt.pct(b.ratio)})`),
        el("td", {}, wm > -1e15 ? (wm > MIN_EPOCH_MS ? fmt.clock(wm) : wm) : "none"));
    });
    const fresh = el("div", { class: "panel" }, el("h2", {}, `Subtasks of ${vertex.name}`),
      el("table", { id: "subtasks" }, el("thead", {}, el("tr", {}, ["Subtask", "Status", "TaskManager",
        "Records received", "Records sent", "Busy", "Backpressure", "Input watermark"].map((t) => el("th", {}, t)))),
      el("tbody", {}, rows)));
    patch(this.detail, [fresh]);
  }

  layout(job) {
    const g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: "LR", nodesep: 28, ranksep: 90, marginx: 16, marginy: 16 });
    g.setDefaultEdgeLabel(() => ({}));
    const byId = Object.fromEntries(job.vertices.map((v) => [v.id, v]));
    const lines = {};
    for (const n of job.plan.nodes) {
      lines[n.id] = n.description.split(" -> ");
      g.setNode(n.id, { width: 250, height: 58 + 16 * lines[n.id].length });
    }
    for (const n of job.plan.nodes) {
      for (const input of n.inputs || []) {
        g.setEdge(input.id, n.id, { label: input.ship_strategy, width: 80, height: 14, labelpos: "c" });
      }
    }
    dagre.layout(g);
    const { width, height } = g.graph();
    const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}` },
      svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5,
        markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
      svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#8791a5" }))));
    for (const e of g.edges()) {
      const edge = g.edge(e);
      const d = edge.points.map((p, i) => `${i ? "L" : "M"} ${p.x} ${p.y}`).join(" ");
      root.append(svg("g", { class: "edge", "data-from": e.v, "data-to": e.w },
        svg("path", { d, "marker-end": "url(#arrow)" }),
        svg("text", { x: edge.x, y: edge.y - 4, "text-anchor": "middle" }, edge.label)));
    }
    const nodes = {};
    for (const id of g.nodes()) {
      const n = g.node(id), v = byId[id];
      const x = n.x - n.width / 2, y = n.y - n.height / 2;
      const rect = svg("rect", { x, y, width: n.width, height: n.height, fill: busyColour(0, 0) });
      const texts = lines[id].map((op, i) => svg("text", { x: x + 10, y: y + 18 + 16 * i,
        class: i === 0 ? "title" : "" }, (i ? "→ " : "") + truncate(op, 34)));
      const par = svg("text", { x: x + 10, y: y + n.height - 36 }, `parallelism ${v ? v.parallelism : "?"}`);
      const stats = svg("text", { x: x + 10, y: y + n.height - 22 }, "");
      const watermark = svg("text", { x: x + 10, y: y + n.height - 8 }, "");
      const group = svg("g", { class: "vertex", "data-vertex-id": id, "data-vertex-name": v ? v.name : "" },
        svg("title", {}, lines[id].join(" → ")), rect, texts, par, stats, watermark);
      root.append(group);
      nodes[id] = { rect, stats, watermark, group };
    }
    this.dag.replaceChildren(root);
    this.graph = { key: job.plan.nodes.map((n) => n.id).join(), nodes };
  }

  drawCharts(job) {
    const h = this.history;
    const specs = [["Records in per second", "in", fmt.rate], ["Records out per second", "out", fmt.rate],
      ["Watermark lag (s)", "lag", (v) => (v == null ? "–" : v.toFixed(1))]];
    if (!this.charts.length || this.chartsKey !== job.vertices.map((v) => v.id).join()) {
      this.chartBox.replaceChildren();
      this.charts = specs.map(([title, key, value]) => {
        const box = el("div", { class: "panel chart", "data-chart": key }, el("h3", {}, title));
        this.chartBox.append(box);
        const width = Math.max(300, box.clientWidth - 24);
        const series = [{}].concat(job.vertices.map((v, i) => ({
          label: truncate(v.name, 28), stroke: PALETTE[i % PALETTE.length], width: 1.5, value: (u, x) => value(x),
        })));
        return { key, plot: new uPlot({ width, height: 200, series, axes: [{}, COMPACT_AXIS],
          legend: { live: false } }, [[]].concat(job.vertices.map(() => [])), box) };
      });
      this.chartsKey = job.vertices.map((v) => v.id).join();
    }
    for (const { key, plot } of this.charts) {
      plot.setData([h.t.slice()].concat(job.vertices.map((v) => (h[key][v.id] || []).slice())));
    }
  }

  async showCheckpoints() {
    const cp = await api(`/jobs/${this.jid}/checkpoints`);
    const card = (label, value) => el("div", { class: "card" }, el("div", { class: "label" }, label),
      el("div", { class: "value" }, value));
    const latest = cp.latest.completed;
    patch(this.cpCounts, [card("Completed", cp.counts.completed), card("In progress", cp.counts.in_progress),
      card("Failed", cp.counts.failed), card("Restored", cp.counts.restored),
      card("Latest completed", latest ? `#${latest.id}, ${fmt.ms(latest.end_to_end_duration)}` : "none"),
      card("Average duration", fmt.ms(cp.summary.end_to_end_duration.avg))]);
    patch(this.cpBody, (cp.history.length ? cp.history.slice(0, CHECKPOINT_ROWS).map((c) => el("tr", { "data-checkpoint-id": c.id },
      el("td", { class: "num" }, c.id), el("td", {}, stateBadge(c.status)), el("td", {}, c.checkpoint_type),
      el("td", {}, fmt.clock(c.trigger_timestamp)), el("td", { class: "num" }, fmt.ms(c.end_to_end_duration)),
      el("td", { class: "num" }, fmt.ms(c.alignment_duration)), el("td", { class: "num" }, fmt.ms(c.sync_duration)),
      el("td", { class: "num" }, fmt.bytes(c.state_size)),
      el("td", { class: "operators" }, Object.entries(c.operator_sizes || {}).map(([op, size]) => el("div", {}, `${op}: ${fmt.bytes(size)}`))),
      el("td", { class: "details" }, c.failure_message || c.external_path || "–")))
      : [el("tr", {}, el("td", { colspan: 10, class: "empty" }, "no checkpoint yet"))]));
    if (!this.cpConfigShown) {
      let rows;
      try {
        const c = await api(`/jobs/${this.jid}/checkpoints/config`);
        const ms = (v) => (v > 0 ? fmt.ms(v) : "none");
        rows = [["Mode", c.mode.replace("_", " ")], ["Interval", fmt.ms(c.interval)], ["Timeout", fmt.ms(c.timeout)],
          ["Minimum pause", ms(c.min_pause)], ["Maximum concurrent", c.max_concurrent],
          ["Tolerable failed checkpoints", c.tolerable_failed_checkpoints], ["Retained", c.num_retained],
          ["Unaligned", c.unaligned_checkpoints ? "yes" : "no"], ["Storage", c.checkpoint_storage]];
      } catch (e) {
        if (e.status !== 404) throw e;
        rows = [["Checkpointing", e.message]];
      }
      this.cpConfig.replaceChildren(...rows.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v))));
      this.cpConfigShown = true;
    }
  }

  async configuration() {
    const body = await api(`/jobs/${this.jid}/config`);
    const conf = body["execution-config"] || {};
    const out = {};
    for (const [k, v] of Object.entries(conf)) if (k !== "user-config") out[k] = v;
    for (const [k, v] of Object.entries(conf["user-config"] || {})) out[`job parameter ${k}`] = v;
    return { ...out, ...(body.configuration || {}) };
  }

  async showExceptions() {
    const ex = await api(`/jobs/${this.jid}/exceptions`);
    const entries = ex.exceptionHistory.entries || [];
    if (!entries.length) {
      patch(this.exBox, [el("div", { class: "empty" }, "No exception: the job has not failed.")]);
      return;
    }
    const failed = this.job && this.job.state === "FAILED";
    patch(this.exBox, [el("div", { class: "meta" }, `${entries.length} failure${entries.length === 1 ? "" : "s"}, ` +
      `newest first${failed ? "; the newest ended the job" : "; the job restarted after each"}`),
    ...entries.map((e, i) => el("div", { class: "exception", "data-exception": i },
      el("div", { class: "meta" }, `${fmt.time(e.timestamp)}${e.taskName ? ` · in ${e.taskName}` : ""}`),
      el("div", { class: "error root-summary" }, e.stacktrace.trim().split("\n").pop()),
      el("pre", { class: "trace" }, e.stacktrace)))]);
  }

  async showConfiguration() {
    if (this.confShown) return;
    const config = await this.configuration();
    const keys = Object.keys(config).sort();
    this.confBody.replaceChildren(...(keys.length ? keys.map((k) => el("tr", {}, el("td", {}, k), el("td", {}, String(config[k]))))
      : [el("tr", {}, el("td", { colspan: 2, class: "empty" }, "no configuration keys"))]));
    this.confShown = true;
  }

  async cancel() {
    if (!confirm(`Cancel job ${this.job ? this.job.name : this.jid}?`)) return;
    try {
      await api(`/jobs/${this.jid}?mode=cancel`, { method: "PATCH" });
      toast("Cancelling the job…");
    } catch (e) { toast(`Cancel failed: ${e.message}`); }
  }

  async savepoint() {
    this.savepointButton.disabled = true;
    try {
      const { "request-id": rid } = await api(`/jobs/${this.jid}/savepoints`, { method: "POST", json: {} });
      toast("Savepoint triggered…");
      for (;;) {
        await new Promise((r) => setTimeout(r, 500));
        const s = await api(`/jobs/${this.jid}/savepoints/${rid}`);
        if (s.status.id !== "COMPLETED") continue;
        const op = s.operation || {};
        toast(op.location ? `Savepoint completed: ${op.location}`
          : `Savepoint failed: ${(op["failure-cause"] || {}).message || "unknown cause"}`, 12000);
        break;
      }
    } catch (e) { toast(`Savepoint failed: ${e.message}`, 12000); }
  }
}

// The log-analysis demo: its alerts and per-user metrics as they arrive.
class DemoPage {
  constructor(root) {
    this.since = 0;
    this.alerts = [];
    this.metrics = new Map();
    this.cards = el("div", { class: "cards", id: "demo-counts" });
    this.chartBox = el("div", { class: "panel chart", "data-chart": "outputs" }, el("h3", {}, "Records per second by output"));
    this.rates = { t: [], last: null, series: {} };
    this.alertBody = el("tbody");
    this.metricBody = el("tbody");
    root.append(el("h1", {}, "Log analysis"), this.cards, el("div", { class: "charts one" }, this.chartBox),
      el("h2", {}, "Latest alerts"), el("table", { id: "demo-alerts" }, el("thead", {}, el("tr", {},
        ["Kind", "User", "Event time", "Details"].map((t) => el("th", {}, t)))), this.alertBody),
      el("h2", {}, "Per-user metrics (latest window)"), el("table", { id: "demo-metrics" }, el("thead", {},
        el("tr", {}, ["User", "Window end", "Total", "By action"].map((t) => el("th", {}, t)))), this.metricBody));
  }

  async update() {
    const feed = await api(`/demo/feed?since=${this.since}`);
    this.since = feed.next;
    for (const r of feed.records) {
      if (r.output.endsWith("_alert")) this.alerts.unshift(r);
      else if (r.output === "user_metrics") this.metrics.set(String(r.record.user_id ?? r.record.user), r);
    }
    this.alerts.length = Math.min(this.alerts.length, 50);
    const card = (label, value) => el("div", { class: "card" }, el("div", { class: "label" }, label),
      el("div", { class: "value" }, value));
    this.chartRates(feed.counts);
    patch(this.cards, Object.entries(feed.counts).sort().map(([k, v]) => card(k.replace(/_/g, " "), fmt.int(v))));
    const when = (rec) => ["last_ms", "timestamp", "window_end"].map((k) => rec[k]).find((v) => typeof v === "number");
    patch(this.alertBody, (this.alerts.length ? this.alerts.map(({ output, record, text, timestamp }) => {
      const kind = output.replace("_alert", "");
      return el("tr", { class: "alert" }, el("td", { class: `alert-${kind}` }, kind),
        el("td", {}, record.user_id ?? record.user ?? "–"), el("td", {}, fmt.time(timestamp ?? when(record))),
        el("td", { class: "details", title: JSON.stringify(record) }, text || JSON.stringify(record)));
    }) : [el("tr", {}, el("td", { colspan: 4, class: "empty" }, "no alert yet"))]));
    const latest = [...this.metrics.values()].sort((a, b) => (when(b.record) || 0) - (when(a.record) || 0)).slice(0, 20);
    patch(this.metricBody, latest.map(({ record }) => el("tr", {},
      el("td", {}, record.user_id ?? record.user ?? "–"), el("td", {}, fmt.time(when(record))),
      el("td", { class: "num" }, fmt.int(record.total)),
      el("td", { class: "details", title: JSON.stringify(record) }, Object.entries(record.counts || {})
        .map(([action, n]) => `${action} ${n}`).join(" · ")))));
  }

  chartRates(counts) {
    const r = this.rates, now = Date.now() / 1000;
    if (r.last) {
      const dt = now - r.last.t;
      r.t.push(now);
      for (const name of Object.keys(counts)) {
        (r.series[name] ||= new Array(r.t.length - 1).fill(null))
          .push(Math.max(0, (counts[name] - (r.last.counts[name] || 0)) / dt));
      }
      for (const name in r.series) if (r.series[name].length < r.t.length) r.series[name].push(0);
      if (r.t.length > HISTORY) { r.t.shift(); for (const name in r.series) r.series[name].shift(); }
    }
    r.last = { t: now, counts: { ...counts } };
    const names = Object.keys(r.series).sort();
    if (!names.length) return;
    if (!this.plot || this.plotKey !== names.join()) {
      if (this.plot) this.plot.destroy();
      this.plot = new uPlot({ width: Math.max(300, this.chartBox.clientWidth - 24), height: 200,
        series: [{}].concat(names.map((n, i) => ({ label: n.replace(/_/g, " "), stroke: PALETTE[i % PALETTE.length],
          width: 1.5, value: (u, v) => fmt.rate(v) }))), axes: [{}, COMPACT_AXIS], legend: { live: false } },
      [[]].concat(names.map(() => [])), this.chartBox);
      this.plotKey = names.join();
    }
    this.plot.setData([r.t.slice()].concat(names.map((n) => r.series[n].slice())));
  }
}

// -- colours -----------------------------------------------------------------------------

const COMPACT = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });
const COMPACT_AXIS = { size: 56, values: (u, ticks) => ticks.map((v) =>
  (Math.abs(v) >= 1e4 ? COMPACT.format(v) : String(+v.toPrecision(4)))) };
const PALETTE = ["#2f6fdb", "#e4572e", "#29a36a", "#9b59b6", "#f2a541", "#17a2b8", "#c0392b", "#6c757d"];

function busyColour(busy, backpressure) {
  // Flink's idea: blue when idle, towards red when busy, towards dark grey when backpressured.
  if (backpressure > busy) {
    const l = Math.round(45 - 25 * Math.min(1, backpressure));
    return `hsl(265, 20%, ${l}%)`;
  }
  const hue = Math.round(210 - 210 * Math.min(1, Math.max(0, busy)));
  return `hsl(${hue}, 65%, 42%)`;
}

function truncate(text, n) { return text.length > n ? `${text.slice(0, n - 1)}…` : text; }

// -- routing and the poll loop -----------------------------------------------------------

const app = { page: null, route: "", busy: false, timer: null };

function route() {
  const hash = location.hash.replace(/^#\/?/, "") || "overview";
  if (hash === app.route && app.page) return;
  app.route = hash;
  const [section, jid, tab] = hash.split("/");
  const main = document.getElementById("main");
  main.replaceChildren();
  for (const a of document.querySelectorAll("[data-nav]")) {
    a.classList.toggle("active", a.dataset.nav === (section === "jobs" && jid ? "jobs" : section));
  }
  if (section === "jobs" && jid) app.page = new JobPage(main, jid, tab);
  else if (section === "jobs") app.page = new OverviewPage(main, { jobsOnly: true });
  else if (section === "taskmanagers") app.page = new TaskManagersPage(main);
  else if (section === "demo") app.page = new DemoPage(main);
  else app.page = new OverviewPage(main);
  tick();
}

async function tick() {
  if (app.busy || !app.page) return;
  app.busy = true;
  const page = app.page;
  try {
    await page.update();
    document.getElementById("live").textContent = `updated ${new Date().toLocaleTimeString()}`;
    document.getElementById("live").dataset.ok = "1";
    const old = document.getElementById("page-error");
    if (old) old.remove();
  } catch (e) {
    if (page !== app.page) return;
    if (e.status === 401) { askToken(e.message); return; }
    let box = document.getElementById("page-error");
    if (!box) {
      box = el("div", { class: "error", id: "page-error" });
      document.getElementById("main").prepend(box);
    }
    box.textContent = e.message;
  } finally {
    app.busy = false;
  }
}

function askToken(message) {
  app.page = null;
  app.route = "";
  const input = el("input", { type: "password", id: "token", placeholder: "token", autocomplete: "off" });
  const form = el("form", { class: "panel token-form", onsubmit: (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    start();
  } }, el("h1", {}, "Token required"), el("div", { class: "meta" }, message), input,
  el("button", { type: "submit" }, "Open the dashboard"));
  document.getElementById("main").replaceChildren(form);
}

async function start() {
  let refreshMs = REFRESH_OVERRIDE_MS || 3000;
  try {
    const config = await api("/config");
    document.getElementById("version").textContent = config["flink-revision"] || "";
    refreshMs = REFRESH_OVERRIDE_MS || config["refresh-interval"] || refreshMs;
  } catch (e) {
    if (e.status === 401) { askToken(e.message); return; }
  }
  api("/demo/feed?since=0").then(() => { document.getElementById("nav-demo").hidden = false; },
    () => { document.getElementById("nav-demo").hidden = true; });
  route();
  clearInterval(app.timer);
  app.timer = setInterval(tick, refreshMs);
}

takeTokenFromUrl();
window.addEventListener("hashchange", route);
start();
