// CBI dashboard page: price history with the forecast fan, live bars, metrics, feed status.
// Every request goes to this page's own origin. Refreshes every 5 minutes, asking the API only
// for what is new (`since=`); unchanged routes come back 304 through their ETags.
"use strict";

const ROOT = "ZL";
const HISTORY_DAYS = 365;
const REFRESH_MS = 5 * 60 * 1000;
const LIVE_WINDOW_MS = 5 * 60 * 1000;
const PLOT_CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

const state = { horizon: "1m", history: [], forecast: [], live: [], simulated: false, requests: 0 };

async function getJSON(path) {
  state.requests += 1;
  const res = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error || `${path}: HTTP ${res.status}`);
  if (body.simulated !== undefined) showSimulated(body.simulated);
  return body;
}

function showSimulated(simulated) {
  state.simulated = state.simulated || simulated;
  document.getElementById("simulated-banner").hidden = !state.simulated;
}

function fmt(value, digits = 2) {
  return value === null || value === undefined ? "–" : Number(value).toFixed(digits);
}

function pct(value) {
  return value === null || value === undefined ? "–" : `${(100 * value).toFixed(0)}%`;
}

function setText(id, text) {
  document.getElementById(id).textContent = text;
}

// ---- history and forecast fan --------------------------------------------------------------
async function loadHistory(onlyNew) {
  const last = state.history.length ? state.history[state.history.length - 1].date : null;
  const since = onlyNew && last ? `&since=${encodeURIComponent(last)}` : "";
  const body = await getJSON(`/api/history?root=${ROOT}&days=${HISTORY_DAYS}${since}`);
  state.history = onlyNew ? state.history.concat(body.rows) : body.rows;
}

async function loadForecast() {
  const body = await getJSON(`/api/forecast/${state.horizon}`);
  // The API serves newest origin first; the fan is drawn along target dates.
  state.forecast = body.rows.slice().sort((a, b) => a.target_date.localeCompare(b.target_date));
}

function forecastTraces() {
  const f = state.forecast;
  const x = f.map((r) => r.target_date);
  const level = f.length && f[0].interval_level ? `${Math.round(100 * f[0].interval_level)}%` : "";
  const band = { x, mode: "lines", line: { width: 0 }, hoverinfo: "skip", showlegend: false };
  return [
    { ...band, name: "upper", y: f.map((r) => r.confidence_interval_upper) },
    { ...band, name: "lower", y: f.map((r) => r.confidence_interval_lower), fill: "tonexty",
      fillcolor: "rgba(45,106,79,0.22)", showlegend: true, legendgroup: "band" },
    { x, y: f.map((r) => r.predicted_value), name: "forecast", mode: "lines+markers",
      line: { color: "#2d6a4f", width: 2 }, marker: { size: 4 },
      customdata: f.map((r) => [r.date, r.model_version]),
      hovertemplate: "%{x}: %{y:.2f}<br>made %{customdata[0]} (%{customdata[1]})<extra></extra>" },
  ].map((t) => (t.name === "lower" ? { ...t, name: `${level} interval` } : t));
}

function drawMain() {
  const h = state.history;
  const traces = [
    { x: h.map((r) => r.date), y: h.map((r) => r.close), name: `${ROOT} close`, mode: "lines",
      line: { color: "#1f4e79", width: 1.5 } },
    ...forecastTraces(),
  ];
  const layout = {
    margin: { l: 48, r: 12, t: 8, b: 36 }, hovermode: "x unified",
    legend: { orientation: "h", y: -0.12 }, xaxis: { type: "date" }, yaxis: { title: { text: "US¢/lb" } },
  };
  Plotly.react("chart", traces, layout, PLOT_CONFIG);
  const n = state.forecast.length;
  const versions = [...new Set(state.forecast.map((r) => r.model_version))].join(", ");
  setText("horizon-label", state.horizon);
  setText("forecast-note", n
    ? `${n} forecast(s) made in the last 30 days by model ${versions}; shaded: prediction interval.`
    : `No ${state.horizon} forecast made in the last 30 days.`);
  document.body.dataset.drawnHorizon = state.horizon;
}

// ---- live bars -------------------------------------------------------------------------------
async function loadLive(onlyNew) {
  const last = state.live.length ? state.live[state.live.length - 1].ts_event : null;
  const since = onlyNew && last ? `&since=${encodeURIComponent(last)}` : "";
  const body = await getJSON(`/api/live-data?root=${ROOT}${since}`);
  const bars = onlyNew ? state.live.concat(body.bars) : body.bars;
  const newest = bars.length ? Date.parse(bars[bars.length - 1].ts_event) : 0;
  state.live = bars.filter((b) => Date.parse(b.ts_event) > newest - LIVE_WINDOW_MS);
}

function drawLive() {
  const volume = {};
  for (const b of state.live) volume[b.symbol] = (volume[b.symbol] || 0) + b.volume;
  const front = Object.keys(volume).sort((a, b) => volume[b] - volume[a])[0];
  const bars = state.live.filter((b) => b.symbol === front);
  const trace = { x: bars.map((b) => b.ts_event), y: bars.map((b) => b.close), name: front || ROOT,
                  mode: "lines+markers", line: { color: "#8c510a" } };
  const layout = { margin: { l: 48, r: 12, t: 8, b: 36 }, xaxis: { type: "date" }, showlegend: false };
  Plotly.react("live-chart", [trace], layout, PLOT_CONFIG);
  const lastBar = bars[bars.length - 1];
  setText("live-note", lastBar
    ? `${front}: ${fmt(lastBar.close, 3)} at ${lastBar.ts_event.slice(11, 16)} UTC (most traded contract)`
    : "No bars in the last 5 minutes of trading.");
}

// ---- metrics and status ------------------------------------------------------------------------
function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
}

async function loadMetrics() {
  const body = await getJSON("/api/metrics");
  const tbody = document.querySelector("#metrics tbody");
  tbody.replaceChildren();
  for (const m of body.rows) {
    const tr = tbody.insertRow();
    if (m.is_current) tr.className = "current";
    cell(tr, m.horizon);
    const version = m.model_version ? ` ${m.model_version}` : "";
    cell(tr, m.model + version + (m.is_current ? " (current)" : ""));
    cell(tr, fmt(m.mase, 3), "num " + (m.mase !== null && m.model !== "naive" ? (m.mase < 1 ? "good" : "bad") : ""));
    cell(tr, fmt(m.mae, 3), "num");
    cell(tr, fmt(m.rmse, 3), "num");
    cell(tr, pct(m.directional_accuracy), "num");
    cell(tr, pct(m.coverage), "num");
    cell(tr, fmt(m.interval_width, 2), "num");
  }
  setText("metrics-note", body.rows.length ? `source: ${body.source}` : "No walk-forward results yet.");
}

async function loadStatus() {
  const body = await getJSON("/api/status");
  setText("mode", body.simulated ? "Mode: sandbox (simulated data)" : "Mode: live data");
  const feeds = document.querySelector("#feeds tbody");
  feeds.replaceChildren();
  for (const f of body.feeds) {
    const tr = feeds.insertRow();
    cell(tr, f.feed);
    cell(tr, f.cursor_key);
    cell(tr, f.watermark ? f.watermark.slice(0, 16).replace("T", " ") : "–");
    cell(tr, f.age_minutes === null ? "–" : ageText(f.age_minutes), f.stale ? "bad" : "");
  }
  const runs = document.querySelector("#runs tbody");
  runs.replaceChildren();
  for (const r of body.runs) {
    const tr = runs.insertRow();
    cell(tr, r.job);
    cell(tr, r.started_at.slice(0, 16).replace("T", " "));
    cell(tr, r.status || "–", r.status === "failed" ? "bad" : "");
    cell(tr, r.rows_written === null ? "–" : String(r.rows_written), "num");
    if (r.error) tr.title = r.error;
  }
}

function ageText(minutes) {
  if (minutes < 90) return `${Math.round(minutes)} min`;
  if (minutes < 2880) return `${Math.round(minutes / 60)} h`;
  return `${Math.round(minutes / 1440)} d`;
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
    guarded("forecast-note", async () => { await Promise.all([loadHistory(onlyNew), loadForecast()]); drawMain(); }),
    guarded("live-note", async () => { await loadLive(onlyNew); drawLive(); }),
    guarded("metrics-note", loadMetrics),
    guarded("mode", loadStatus),
  ]);
  setText("updated", `updated ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`);
  document.body.dataset.loaded = "true";
}

async function chooseHorizon(horizon) {
  state.horizon = horizon;
  for (const b of document.querySelectorAll("#horizons button")) {
    b.setAttribute("aria-pressed", String(b.dataset.horizon === horizon));
  }
  await guarded("forecast-note", async () => { await loadForecast(); drawMain(); });
}

function start() {
  for (const b of document.querySelectorAll("#horizons button")) {
    b.addEventListener("click", () => chooseHorizon(b.dataset.horizon));
  }
  refresh(false);
  setInterval(() => refresh(true), REFRESH_MS);
}

window.cbiDashboard = { state, refresh, chooseHorizon };
start();
