// CBI dashboard page: today's served forecast per horizon, the fan from one origin, the track
// record, live prices (server-sent events), freshness and accuracy from the model report.
// Every request goes to this page's own origin. Everything shown (root, times, ages) comes
// from the API, never from this browser's clock.
"use strict";

const HISTORY_DAYS = 365;
const REFRESH_MS = 5 * 60 * 1000;
const PLOT_CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] };
const LAYOUT = { margin: { l: 52, r: 12, t: 8, b: 36 }, legend: { orientation: "h", y: -0.15 } };

const state = {
  meta: null, history: [], headline: null, track: {}, trackHorizon: null, live: null,
  flags: {}, sandboxData: [], requests: 0, stream: null,
};

async function getJSON(path, flagKey) {
  state.requests += 1;
  const res = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error || `${path}: HTTP ${res.status}`);
  if (body.simulated !== undefined) setFlag(flagKey || path.split("?")[0], body.simulated);
  return body;
}

// The banner follows the data: shown while any answer behind the page says a row came from
// the sandbox.
function setFlag(key, simulated) {
  state.flags[key] = Boolean(simulated);
  const any = Object.values(state.flags).some(Boolean);
  document.getElementById("simulated-banner").hidden = !any;
  if (state.sandboxData.length) setText("simulated-what", state.sandboxData.join(", "));
}

function decimals() {
  const tick = state.meta ? state.meta.tick : 0.01;
  const text = String(tick);
  return text.includes(".") ? text.split(".")[1].length : 0;
}

function price(value) {
  return value === null || value === undefined ? "–" : Number(value).toFixed(decimals());
}

function pct(value, digits = 0) {
  return value === null || value === undefined ? "–" : `${(100 * value).toFixed(digits)}%`;
}

function fmt(value, digits = 2) {
  return value === null || value === undefined ? "–" : Number(value).toFixed(digits);
}

function setText(id, text) {
  document.getElementById(id).textContent = text;
}

function stamp(iso) {
  return iso ? `${iso.slice(0, 16).replace("T", " ")} UTC` : "–";
}

function ageText(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const minutes = seconds / 60;
  if (minutes < 1) return `${Math.max(0, Math.round(seconds))} s ago`;
  if (minutes < 90) return `${Math.round(minutes)} min ago`;
  if (minutes < 2880) return `${Math.round(minutes / 60)} h ago`;
  return `${Math.round(minutes / 1440)} d ago`;
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

// ---- headline ------------------------------------------------------------------------------
async function loadHeadline() {
  state.headline = await getJSON("/api/headline");
  drawHeadline();
}

function drawHeadline() {
  const h = state.headline;
  const units = h.units;
  const box = document.getElementById("headline");
  box.replaceChildren();
  setText("headline-origin", h.origin ? `(from the ${h.origin} close)` : "");
  setText("headline-note", h.empty || "");
  for (const f of h.horizons) {
    const card = el("div", "forecast-card");
    card.dataset.horizon = f.horizon;
    card.append(el("div", "h", f.horizon));
    if (!f.available) {
      card.append(el("div", "note", f.note));
      box.append(card);
      continue;
    }
    const value = el("div", "price", `${price(f.predicted_value)} ${units}`);
    value.dataset.value = f.predicted_value;
    card.append(value);
    const sign = f.change > 0 ? "+" : "";
    const change = el("div", `change ${f.change > 0 ? "up" : f.change < 0 ? "down" : ""}`,
      `${sign}${fmt(f.change_pct, 2)}% (${sign}${price(f.change)} ${units}) vs ${price(f.origin_close)}`);
    change.dataset.changePct = f.change_pct;
    card.append(change);
    const level = f.interval_level ? `${Math.round(100 * f.interval_level)}%` : "";
    const band = el("div", "interval", `${level} interval ${price(f.lower)} – ${price(f.upper)}`);
    band.dataset.lower = f.lower;
    band.dataset.upper = f.upper;
    card.append(band);
    card.append(el("div", "served", `served by ${f.served_text}`));
    card.append(el("div", "note", `for ${f.target_date}; made ${stamp(f.created_at)}`));
    card.append(el("div", "note track-words", f.track_record ? f.track_record.text : ""));
    box.append(card);
  }
}

// ---- history and the fan -------------------------------------------------------------------
async function loadHistory(onlyNew) {
  const root = state.meta.root;
  const last = state.history.length ? state.history[state.history.length - 1].date : null;
  const since = onlyNew && last ? `&since=${encodeURIComponent(last)}` : "";
  const body = await getJSON(`/api/history?root=${root}&days=${HISTORY_DAYS}${since}`, "/api/history");
  state.history = onlyNew ? state.history.concat(body.rows) : body.rows;
  state.historyEmpty = body.empty;
}

function fanPoints() {
  const h = state.headline;
  const rows = h ? h.horizons.filter((f) => f.available) : [];
  if (!rows.length) return null;
  const origin = rows[0].origin;
  return {
    x: [origin, ...rows.map((f) => f.target_date)],
    y: [rows[0].origin_close, ...rows.map((f) => f.predicted_value)],
    lower: [rows[0].origin_close, ...rows.map((f) => f.lower)],
    upper: [rows[0].origin_close, ...rows.map((f) => f.upper)],
    labels: ["origin", ...rows.map((f) => f.horizon)],
    origins: rows.map((f) => f.origin),
  };
}

function drawMain() {
  const root = state.meta.root;
  const h = state.history;
  const traces = [{ x: h.map((r) => r.date), y: h.map((r) => r.close), name: `${root} close`,
    mode: "lines", line: { color: "#1f4e79", width: 1.5 } }];
  const fan = fanPoints();
  if (fan) {
    const level = state.meta.interval_level ? `${Math.round(100 * state.meta.interval_level)}%` : "";
    const band = { x: fan.x, mode: "lines", line: { width: 0 }, hoverinfo: "skip" };
    traces.push({ ...band, name: "upper", y: fan.upper, showlegend: false });
    traces.push({ ...band, name: `${level} interval`, y: fan.lower, fill: "tonexty",
      fillcolor: "rgba(45,106,79,0.22)" });
    traces.push({ x: fan.x, y: fan.y, name: "forecast", mode: "lines+markers",
      line: { color: "#2d6a4f", width: 2 }, marker: { size: 6 }, customdata: fan.labels,
      hovertemplate: "%{customdata}: %{y}<extra></extra>" });
  }
  const layout = { ...LAYOUT, hovermode: "x unified", xaxis: { type: "date" },
    yaxis: { title: { text: state.meta.units } } };
  Plotly.react("chart", traces, layout, PLOT_CONFIG);
  const notes = [];
  if (state.historyEmpty) notes.push(state.historyEmpty);
  if (fan) notes.push(`Forecast path and interval fan from the ${fan.x[0]} close across ${fan.labels.length - 1} horizons.`);
  else if (state.headline && state.headline.empty) notes.push(state.headline.empty);
  setText("fan-note", notes.join(" "));
  document.body.dataset.fanDrawn = "true";
}

// ---- track record --------------------------------------------------------------------------
async function loadTrack(horizon) {
  state.trackHorizon = horizon;
  for (const b of document.querySelectorAll("#horizons button")) {
    b.setAttribute("aria-pressed", String(b.dataset.horizon === horizon));
  }
  const body = await getJSON(`/api/track-record/${horizon}`, "/api/track-record");
  state.track[horizon] = body;
  if (state.trackHorizon === horizon) drawTrack(body);
}

function drawTrack(body) {
  const rows = body.rows;
  const chart = document.getElementById("track-chart");
  chart.hidden = !rows.length;  // an empty record says which command fills it, no bare axes
  const part = (hit) => rows.filter((r) => r.hit === hit);
  const markers = (subset, name, color) => ({
    x: subset.map((r) => r.target_date), y: subset.map((r) => r.predicted_value), name,
    mode: "markers", marker: { color, size: 5 },
    error_y: { type: "data", symmetric: false, color, thickness: 1, width: 0,
      array: subset.map((r) => r.confidence_interval_upper - r.predicted_value),
      arrayminus: subset.map((r) => r.predicted_value - r.confidence_interval_lower) },
    customdata: subset.map((r) => [r.date, r.actual_value]),
    hovertemplate: "target %{x}: forecast %{y} (made %{customdata[0]}), realised %{customdata[1]}<extra></extra>",
  });
  const traces = [
    { x: rows.map((r) => r.target_date), y: rows.map((r) => r.actual_value), name: "realised",
      mode: "lines", line: { color: "#1f4e79", width: 1 } },
    markers(part(true), "interval held", "#2d6a4f"),
    markers(part(false), "interval missed", "#b42318"),
  ];
  Plotly.react("track-chart", traces, { ...LAYOUT, xaxis: { type: "date" },
    yaxis: { title: { text: state.meta.units } } }, PLOT_CONFIG);
  const summary = document.getElementById("track-summary");
  summary.dataset.hits = body.hits;
  summary.dataset.rows = rows.length;
  summary.dataset.horizon = body.horizon;
  summary.textContent = rows.length
    ? `${body.horizon}: the interval held the realised price ${body.hits.toLocaleString("en-US")} times of ${rows.length.toLocaleString("en-US")} (${pct(body.coverage)}); missed ${body.misses.toLocaleString("en-US")}.`
    : `${body.horizon}: ${body.empty}`;
}

// ---- live prices ----------------------------------------------------------------------------
function startLive() {
  const root = state.meta.root;
  if (typeof EventSource === "undefined") {
    const poll = async () => drawLive(await getJSON(`/api/live/panel?root=${root}`, "/api/live"));
    poll();
    setInterval(poll, 5000);
    return;
  }
  const source = new EventSource(`/api/live?root=${encodeURIComponent(root)}`);
  source.addEventListener("panel", (event) => {
    const panel = JSON.parse(event.data);
    setFlag("/api/live", panel.simulated);
    drawLive(panel);
  });
  state.stream = source;
}

function drawLive(panel) {
  state.live = panel;
  const last = panel.last;
  const bars = last ? panel.bars.filter((b) => b.symbol === last.symbol) : [];
  Plotly.react("live-chart", [{ x: bars.map((b) => b.ts_event), y: bars.map((b) => b.close),
    name: last ? last.symbol : state.meta.root, mode: "lines+markers", line: { color: "#8c510a" } }],
  { ...LAYOUT, xaxis: { type: "date" }, showlegend: false }, PLOT_CONFIG);
  Plotly.react("curve-chart", [{ x: panel.curve.map((c) => c.symbol), y: panel.curve.map((c) => c.close),
    name: "curve", mode: "lines+markers", line: { color: "#1f4e79" } }],
  { ...LAYOUT, xaxis: { type: "category" }, showlegend: false }, PLOT_CONFIG);
  const note = document.getElementById("live-note");
  if (last) {
    note.textContent = `${last.symbol} ${price(last.close)} ${state.meta.units} at ${stamp(last.ts_event)} (most traded contract); curve: last price of each listed contract.`;
    note.dataset.lastTs = last.ts_event;
    note.dataset.lastClose = last.close;
  } else {
    note.textContent = panel.empty || "No bars in the last 5 minutes of trading.";
  }
}

// ---- freshness and runs -----------------------------------------------------------------------
function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

async function loadStatus() {
  const body = await getJSON("/api/status");
  state.sandboxData = body.sandbox_data;
  setFlag("/api/status", body.simulated);
  setText("status-note", body.simulated
    ? `Sandbox (simulated) rows in: ${body.sandbox_data.join(", ")}.`
    : (body.empty.freshness || "All rows from the live services."));
  const feeds = document.querySelector("#feeds tbody");
  feeds.replaceChildren();
  for (const f of body.freshness) {
    const tr = feeds.insertRow();
    cell(tr, f.feed);
    cell(tr, f.subject);
    cell(tr, f.observed_at ? `${stamp(f.observed_at)} (${ageText(f.observed_age_s)})` : "never", f.stale ? "bad" : "");
    cell(tr, f.written_at ? `${stamp(f.written_at)} (${ageText(f.written_age_s)})` : "–");
  }
  const runs = document.querySelector("#runs tbody");
  runs.replaceChildren();
  for (const r of body.runs) {
    const tr = runs.insertRow();
    cell(tr, r.job);
    cell(tr, stamp(r.started_at));
    cell(tr, r.status || "–", r.status === "failed" ? "bad" : "");
    cell(tr, r.rows_written === null ? "–" : String(r.rows_written), "num");
    if (r.error) tr.title = r.error;
  }
  if (!body.runs.length) {
    const tr = runs.insertRow();
    const td = cell(tr, body.empty.runs, "note");
    td.colSpan = 4;
  }
  setText("as-of", body.data_as_of ? `data as of ${stamp(body.data_as_of)} (newest observation)` : "");
  setText("updated", `checked ${stamp(body.checked_at)} · warehouse: ${body.warehouse}`);
}

// ---- accuracy --------------------------------------------------------------------------------
async function loadMetrics() {
  const body = await getJSON("/api/metrics");
  const tbody = document.querySelector("#metrics tbody");
  tbody.replaceChildren();
  for (const m of body.rows) {
    const tr = tbody.insertRow();
    tr.className = m.forecaster === "served" ? "current" : "";
    tr.dataset.verdict = m.verdict;
    cell(tr, m.horizon);
    const who = m.forecaster === "served" && m.served_by ? `served (${m.served_by})` : m.forecaster;
    cell(tr, who + (m.model_version && m.forecaster !== "random_walk" && m.forecaster !== "drift" ? ` ${m.model_version}` : ""));
    cell(tr, m.n === null ? "–" : m.n.toLocaleString("en-US"), "num");
    const tone = { better: "good", worse: "bad" }[m.verdict] || "";
    cell(tr, fmt(m.mase, 3), `num ${tone}`);
    cell(tr, fmt(m.dm_pvalue, 3), "num");
    const worst = m.coverage_worst_year === null || m.coverage_worst_year === undefined ? ""
      : `; ${m.worst_year || "worst"} ${pct(m.coverage_worst_year)}`;
    cell(tr, m.coverage === null ? "–" : `${pct(m.coverage)} (${m.n}${worst})`, "num");
    cell(tr, fmt(m.winkler_rel_rw, 3), "num");
    cell(tr, pct(m.directional_accuracy), "num");
  }
  setText("metrics-note", body.empty || `surface ${body.surface}; interval level ${pct(body.interval_level)}`);
}

// ---- orchestration -----------------------------------------------------------------------------
async function guarded(section, work) {
  try {
    await work();
  } catch (err) {
    setText(section, `Could not load: ${err.message}`);
  }
}

async function refresh(onlyNew) {
  await Promise.all([
    guarded("fan-note", async () => {
      await Promise.all([loadHistory(onlyNew), guarded("headline-note", loadHeadline)]);
      drawMain();
    }),
    guarded("track-summary", () => loadTrack(state.trackHorizon)),
    guarded("metrics-note", loadMetrics),
    guarded("status-note", loadStatus),
  ]);
  document.body.dataset.loaded = "true";
}

async function start() {
  state.meta = await getJSON("/api/meta");
  setText("root-name", state.meta.root);
  document.title = `CBI — ${state.meta.root} forecasts`;
  const nav = document.getElementById("horizons");
  for (const h of state.meta.horizons) {
    const b = el("button", "", h);
    b.type = "button";
    b.dataset.horizon = h;
    b.addEventListener("click", () => guarded("track-summary", () => loadTrack(h)));
    nav.append(b);
  }
  state.trackHorizon = state.meta.horizons.includes("1m") ? "1m" : state.meta.horizons[0];
  startLive();
  await refresh(false);
  setInterval(() => refresh(true), REFRESH_MS);
}

window.cbiDashboard = { state, refresh, loadTrack };
start().catch((err) => setText("headline-note", `Could not load: ${err.message}`));
