// The playground's page: controls that call the server's JSON endpoints, and views
// fed by its event stream. No libraries: canvas drawing and the DOM only.
"use strict";

const $ = (id) => document.getElementById(id);
const SMOOTH = 50; // the mean of the last 50 steps, as `train --plot` draws it

const view = { losses: [], steps: 0, status: "idle", presets: {} };

// --- talking to the server -------------------------------------------------

async function call(method, path, body, contentType) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.body = typeof body === "string" || body instanceof ArrayBuffer ? body : JSON.stringify(body);
    init.headers["Content-Type"] = contentType || "application/json";
  }
  const response = await fetch(path, init);
  const value = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(value.error || `HTTP ${response.status}`);
  return value;
}

function showError(message) {
  $("message").textContent = message;
  $("message").classList.add("error");
}

// --- status and controls ---------------------------------------------------

function setStatus(summary) {
  view.status = summary.status;
  const pill = $("status");
  pill.textContent = summary.status;
  pill.className = "pill " + summary.status;
  $("message").textContent = summary.message || "";
  $("message").classList.remove("error");
  if (summary.steps !== undefined) {
    view.steps = summary.steps;
    $("steps").textContent = summary.steps;
    $("step").textContent = summary.step;
  }
  if (summary.steps_per_s !== undefined) $("rate").textContent = Math.round(summary.steps_per_s);
  if (summary.upload) {
    $("datainfo").textContent = `${summary.upload.name}: ${summary.upload.docs} documents`;
  }
  const active = summary.status === "running" || summary.status === "paused";
  const model = summary.status !== "idle";
  $("start").disabled = active;
  $("pause").disabled = summary.status !== "running";
  $("continue").disabled = summary.status !== "paused";
  $("stop").disabled = !active;
  for (const id of ["download", "safetensors"]) $(id).classList.toggle("disabled", !model);
  for (const id of ["inspect", "sample"]) $(id).disabled = !model;
}

function readSettings() {
  const form = $("settings");
  const num = (name) => Number(form.elements[name].value);
  return {
    steps: num("steps"), batch_size: num("batch_size"), seed: num("seed"), n_embd: num("n_embd"), n_head: num("n_head"),
    n_layer: num("n_layer"), block_size: num("block_size"), lr: num("lr"),
    temperature: num("temperature"), sample_every: num("sample_every"), samples: num("samples"),
    exact: form.elements.exact.checked, data: form.elements.data.value,
    preset: form.elements.preset.value,
  };
}

function writeSettings(settings) {
  const form = $("settings");
  for (const [key, value] of Object.entries(settings)) {
    const field = form.elements[key];
    if (!field) continue;
    if (key === "exact") field.checked = value;
    else if (key === "data") form.querySelector(`input[name=data][value=${value}]`).checked = true;
    else field.value = value;
  }
}

$("settings").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    view.losses = [];
    $("samples").replaceChildren();
    drawCurve();
    setStatus(await call("POST", "/api/train", readSettings()));
  } catch (err) { showError(err.message); }
});
for (const [id, path] of [["pause", "/api/pause"], ["continue", "/api/continue"], ["stop", "/api/stop"]]) {
  $(id).addEventListener("click", async () => {
    try { setStatus(await call("POST", path)); } catch (err) { showError(err.message); }
  });
}

// A preset fills the controls with its defaults; the data stays as chosen.
$("settings").elements.preset.addEventListener("change", () => {
  const form = $("settings");
  const chosen = view.presets[form.elements.preset.value];
  if (chosen) writeSettings({ ...chosen, data: form.elements.data.value });
});

$("datafile").addEventListener("change", async () => {
  const file = $("datafile").files[0];
  if (!file) return;
  try {
    const info = await call("POST", "/api/data?name=" + encodeURIComponent(file.name), await file.arrayBuffer(), "text/plain");
    $("datainfo").textContent = `${info.name}: ${info.docs} documents, vocabulary ${JSON.stringify(info.vocab)}`;
    $("settings").querySelector("input[name=data][value=upload]").checked = true;
  } catch (err) { $("datainfo").textContent = err.message; }
});

$("ckptfile").addEventListener("change", async () => {
  const file = $("ckptfile").files[0];
  if (!file) return;
  try {
    await call("POST", "/api/checkpoint", await file.text());
    await refresh();
    inspect();
  } catch (err) { showError(err.message); }
  $("ckptfile").value = "";
});

// --- the loss curve --------------------------------------------------------

function smoothed(losses) {
  const out = [];
  let sum = 0;
  for (let i = 0; i < losses.length; i++) {
    sum += losses[i];
    if (i >= SMOOTH) sum -= losses[i - SMOOTH];
    out.push(sum / Math.min(i + 1, SMOOTH));
  }
  return out;
}

function drawCurve() {
  const canvas = $("losscanvas");
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 720, height = canvas.clientHeight || 260;
  canvas.width = width * ratio; canvas.height = height * ratio;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const losses = view.losses;
  const pad = { left: 44, right: 10, top: 10, bottom: 24 };
  const w = width - pad.left - pad.right, h = height - pad.top - pad.bottom;
  const n = Math.max(view.steps, losses.length, 1);
  // From the lowest loss to the 99th percentile: a rare spike would flatten the rest.
  let lo = Infinity, hi = -Infinity;
  if (losses.length) {
    const sorted = [...losses].sort((a, b) => a - b);
    lo = sorted[0];
    hi = sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))];
  }
  if (!isFinite(lo)) { lo = 0; hi = 4; }
  if (hi - lo < 1e-9) { hi += 0.5; lo -= 0.5; }
  const x = (i) => pad.left + (w * (i + 1)) / n;
  const y = (v) => pad.top + h * (1 - (Math.min(v, hi) - lo) / (hi - lo));
  ctx.strokeStyle = "#e3e6eb"; ctx.fillStyle = "#6b7280"; ctx.font = "11px system-ui"; ctx.lineWidth = 1;
  for (let k = 0; k <= 4; k++) {
    const v = lo + ((hi - lo) * k) / 4;
    ctx.beginPath(); ctx.moveTo(pad.left, y(v)); ctx.lineTo(pad.left + w, y(v)); ctx.stroke();
    ctx.fillText(v.toFixed(2), 4, y(v) + 4);
  }
  ctx.fillText("step 1", pad.left, height - 6);
  const last = `step ${n}`;
  ctx.fillText(last, pad.left + w - ctx.measureText(last).width, height - 6);
  const line = (values, color, widthPx) => {
    ctx.strokeStyle = color; ctx.lineWidth = widthPx; ctx.beginPath();
    values.forEach((v, i) => (i ? ctx.lineTo(x(i), y(v)) : ctx.moveTo(x(i), y(v))));
    ctx.stroke();
  };
  if (losses.length) {
    line(losses, "#b7c6e6", 1);
    line(smoothed(losses), "#d1495b", 2);
  }
}

function addLosses(from, losses) {
  // `from` is the 1-based step of the first loss. After a gap, the whole state
  // is fetched again instead.
  if (from - 1 > view.losses.length) {
    refresh().catch((err) => showError(err.message));
    return;
  }
  view.losses.length = from - 1;
  for (const l of losses) view.losses.push(l);
  const n = view.losses.length;
  $("step").textContent = n;
  if (n) {
    $("loss").textContent = view.losses[n - 1].toFixed(4);
    const s = smoothed(view.losses.slice(-SMOOTH));
    $("smooth").textContent = s[s.length - 1].toFixed(4);
  }
}

let curvePending = false;
function scheduleCurve() {
  if (curvePending) return;
  curvePending = true;
  requestAnimationFrame(() => { curvePending = false; drawCurve(); });
}

function showSamples(samples) {
  $("samplestep").textContent = samples ? `at step ${samples.step}` : "";
  $("samples").replaceChildren(...(samples ? samples.names : []).map(nameItem));
}

function nameItem(name) {
  const li = document.createElement("li");
  li.textContent = name || "(empty)";
  return li;
}

// --- heatmaps --------------------------------------------------------------

// Diverging: blue for negative, white for 0, red for positive, by |v| / scale.
function diverging(v, scale) {
  const t = Math.max(-1, Math.min(1, v / (scale || 1)));
  const a = Math.abs(t);
  const [r, g, b] = t < 0 ? [47, 111, 222] : [209, 73, 91];
  return [255 + (r - 255) * a, 255 + (g - 255) * a, 255 + (b - 255) * a];
}

// Sequential: white to dark blue, for weights in [0, 1].
function sequential(v) {
  const a = Math.max(0, Math.min(1, v));
  return [255 - 226 * a, 255 - 190 * a, 255 - 80 * a];
}

// Draws a (rows, cols) matrix into a canvas, `cell` pixels a value, at most `maxSide` wide.
function heatmap(values, rows, cols, color, maxSide, maxCell = 14) {
  const cell = Math.max(2, Math.min(maxCell, Math.floor(maxSide / Math.max(rows, cols))));
  const canvas = document.createElement("canvas");
  canvas.width = cols * cell; canvas.height = rows * cell;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(canvas.width, canvas.height);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const [R, G, B] = color(values[r * cols + c]);
      for (let dy = 0; dy < cell; dy++) {
        for (let dx = 0; dx < cell; dx++) {
          const i = 4 * ((r * cell + dy) * canvas.width + c * cell + dx);
          image.data[i] = R; image.data[i + 1] = G; image.data[i + 2] = B; image.data[i + 3] = 255;
        }
      }
    }
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

function figure(caption, detail, canvas, title) {
  const fig = document.createElement("figure");
  const cap = document.createElement("figcaption");
  cap.textContent = caption + " ";
  const small = document.createElement("span");
  small.className = "muted";
  small.textContent = detail;
  cap.append(small);
  if (title) canvas.title = title;
  fig.append(cap, canvas);
  return fig;
}

function showWeights(weights) {
  if (!weights) return;
  $("weightstep").textContent = `at step ${weights.step}`;
  const figures = weights.tensors.map((t) => {
    let scale = 0;
    for (const v of t.values) scale = Math.max(scale, Math.abs(v));
    const canvas = heatmap(t.values, t.cells[0], t.cells[1], (v) => diverging(v, scale), 240);
    const norm = t.grad_norm === null || t.grad_norm === undefined ? "" : ` ‖∇‖ ${t.grad_norm.toExponential(2)}`;
    const pooled = t.cells[0] !== t.rows || t.cells[1] !== t.cols ? " (pooled)" : "";
    return figure(t.name, `(${t.rows}, ${t.cols})${pooled} max ${scale.toFixed(2)}${norm}`, canvas,
      `${t.name}: rows ${t.rows}, columns ${t.cols}`);
  });
  $("heatmaps").replaceChildren(...figures);
}

// --- asking the model ------------------------------------------------------

async function inspect() {
  $("inspecterror").textContent = "";
  try {
    const report = await call("POST", "/api/inspect", { text: $("prefix").value, top_k: Number($("topk").value) });
    showInspection(report);
  } catch (err) {
    $("inspecterror").textContent = err.message;
  }
}

function showInspection(report) {
  const positions = report.inputs.map((input, t) => {
    const box = document.createElement("div");
    box.className = "position";
    const head = document.createElement("div");
    head.className = "input";
    head.textContent = `${t}: after ${input === "BOS" ? "BOS" : JSON.stringify(report.inputs.slice(1, t + 1).join(""))}`;
    box.append(head);
    for (const c of report.top_k[t]) {
      const bar = document.createElement("div");
      bar.className = "bar";
      const label = document.createElement("span");
      label.textContent = c.char;
      const track = document.createElement("span");
      const fill = document.createElement("div");
      fill.className = "fill";
      fill.style.width = `${(100 * c.prob).toFixed(1)}%`;
      track.append(fill);
      const p = document.createElement("span");
      p.className = "p";
      p.textContent = c.prob.toFixed(3);
      bar.append(label, track, p);
      box.append(bar);
    }
    return box;
  });
  $("positions").replaceChildren(...positions);
  const T = report.tokens.length;
  const heads = [];
  report.attention.forEach((layer, l) => layer.forEach((head, h) => {
    const canvas = heatmap(head.flat(), T, T, sequential, 200, 40);
    const fig = figure(`layer${l} head ${h}`, `queries ↓ keys → (${report.inputs.join(" ")})`, canvas);
    heads.push(fig);
  }));
  $("attention").replaceChildren(...heads);
}

$("inspect").addEventListener("click", inspect);
$("prefix").addEventListener("keydown", (e) => { if (e.key === "Enter") inspect(); });
$("temp").addEventListener("input", () => { $("tempvalue").textContent = Number($("temp").value).toFixed(2); });
$("sample").addEventListener("click", async () => {
  $("sampleerror").textContent = "";
  try {
    const { names } = await call("POST", "/api/sample", {
      prefix: $("prefix").value, temperature: Number($("temp").value),
      samples: Number($("nsamples").value), seed: Number($("sampleseed").value),
    });
    $("prefixsamples").replaceChildren(...names.map(nameItem));
  } catch (err) { $("sampleerror").textContent = err.message; }
});

// --- the whole state, and the stream of changes ----------------------------

// The first state and inspection are read synchronously, while the page loads:
// the page is whole when its load event fires (which is also when a headless
// browser takes its screenshot), with no flash of empty views.
function callWhileLoading(method, path, body) {
  const xhr = new XMLHttpRequest();
  xhr.open(method, path, false);
  if (body !== undefined) xhr.setRequestHeader("Content-Type", "application/json");
  xhr.send(body === undefined ? null : JSON.stringify(body));
  const value = JSON.parse(xhr.responseText);
  if (xhr.status !== 200) throw new Error(value.error || `HTTP ${xhr.status}`);
  return value;
}

// The form shows the run's settings; with no run, the defaults, but only as the
// page loads: a later refresh (the event stream reconnecting) must not undo what
// the user has typed since.
function show(state, loading = false) {
  view.presets = state.presets || {};
  if (state.settings) writeSettings(state.settings);
  else if (loading && state.defaults) writeSettings(state.defaults);
  setStatus(state);
  view.losses = [];
  if (state.losses) addLosses(1, state.losses);
  showSamples(state.samples);
  showWeights(state.weights);
  drawCurve();
}

async function refresh() {
  const state = await call("GET", "/api/state");
  show(state);
  if (state.status !== "idle") inspect();
}

function loadNow() {
  const state = callWhileLoading("GET", "/api/state");
  show(state, true);
  if (state.status === "idle") return;
  try {
    showInspection(callWhileLoading("POST", "/api/inspect", { text: $("prefix").value, top_k: Number($("topk").value) }));
  } catch (err) {
    $("inspecterror").textContent = err.message;
  }
}

function listen() {
  const events = new EventSource("/api/events");
  // Events sent before the stream opened (or while it was down) were missed:
  // fetch the whole state again.
  events.addEventListener("open", () => refresh().catch((err) => showError(err.message)));
  events.addEventListener("losses", (e) => {
    const data = JSON.parse(e.data);
    addLosses(data.from, data.losses);
    $("rate").textContent = Math.round(data.steps_per_s);
    scheduleCurve();
  });
  events.addEventListener("samples", (e) => showSamples(JSON.parse(e.data)));
  events.addEventListener("weights", (e) => showWeights(JSON.parse(e.data)));
  events.addEventListener("status", (e) => {
    const summary = JSON.parse(e.data);
    setStatus(summary);
    if (summary.status === "done" || summary.status === "stopped") inspect();
  });
  events.addEventListener("error", () => {
    $("status").textContent = "reconnecting";
    $("status").className = "pill";
  });
}

window.addEventListener("resize", scheduleCurve);
window.addEventListener("error", (e) => showError(`page error: ${e.message}`));
window.addEventListener("unhandledrejection", (e) => showError(`page error: ${e.reason}`));
try { loadNow(); } catch (err) { showError(err.message); }
listen();
