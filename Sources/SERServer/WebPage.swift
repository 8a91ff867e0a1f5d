import Hummingbird

/// The page `ser serve` serves at `/`: drop, choose or record a recording, or
/// stream the microphone live, and see the probabilities, gender, waveform,
/// mel spectrogram and timeline. Everything is served by the binary itself
/// (no CDN, works offline); the script talks only to this server's API.
enum WebPage {
    static func response(_ text: String, type: String) -> Response {
        Response(status: .ok,
                 headers: [.contentType: type, .cacheControl: "no-cache", .xContentTypeOptions: "nosniff",
                           .contentSecurityPolicy: "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ser · speech emotion recognition</title>
<link rel="stylesheet" href="/style.css">
<link rel="icon" href="data:,">
</head>
<body>
<header>
  <h1>ser <span class="subtitle">speech emotion recognition</span></h1>
  <p id="model-line" class="muted">Loading the model…</p>
</header>
<main>
  <section aria-labelledby="input-heading" class="card">
    <h2 id="input-heading">Hear a recording</h2>
    <div id="drop-zone" class="drop-zone">
      <p>Drop a recording here (WAV, FLAC, MP3, OGG, M4A, MP4, WebM…)</p>
      <div class="actions">
        <input id="file-input" type="file" accept="audio/*,video/*,.flac,.wav,.mp3,.ogg,.m4a,.mp4,.webm,.aiff,.aif" class="visually-hidden">
        <label class="button" for="file-input">Choose a file</label>
        <button id="record-button" type="button" aria-pressed="false">Record</button>
        <button id="live-button" type="button" aria-pressed="false">Live</button>
      </div>
      <p id="adaptation" class="small" hidden><span id="adaptation-text"></span> <button id="reset-voice" type="button">New speaker</button></p>
      <p class="muted small">Recording and live mode use your microphone; audio goes only to this server.</p>
    </div>
    <audio id="player" controls hidden></audio>
  </section>

  <section aria-labelledby="result-heading" class="card" id="result-card">
    <h2 id="result-heading">What it hears</h2>
    <p id="status" role="status" aria-live="polite" class="status">Choose, drop or record a recording.</p>
    <div id="answer" class="answer" hidden>
      <p><span id="emotion" class="emotion"></span> <span id="confidence" class="muted"></span></p>
      <p id="gender" class="muted"></p>
    </div>
    <ul id="bars" class="bars" aria-label="Probability per emotion"></ul>
    <p id="error" class="error" role="alert" hidden></p>
  </section>

  <section aria-labelledby="signal-heading" class="card" id="signal-card" hidden>
    <h2 id="signal-heading">Signal</h2>
    <figure>
      <canvas id="waveform" height="120" role="img" aria-label="Waveform"></canvas>
      <canvas id="timeline" height="18" role="img" aria-label="Emotion timeline" hidden></canvas>
      <figcaption class="muted small" id="waveform-caption">Waveform</figcaption>
    </figure>
    <figure>
      <canvas id="spectrogram" height="160" role="img" aria-label="Mel spectrogram"></canvas>
      <figcaption class="muted small">Mel spectrogram (64 bands up to half the model's rate, 80 dB range)</figcaption>
    </figure>
    <div id="legend" class="legend" hidden></div>
    <table id="segments" class="segments" hidden>
      <caption>Timeline</caption>
      <thead><tr><th scope="col">start</th><th scope="col">end</th><th scope="col">emotion</th><th scope="col">confidence</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
</main>
<footer class="muted small">
  <a href="/openapi.json">API (OpenAPI 3.1)</a> · <a href="/v1/model">model</a> · answers are estimates from acted speech corpora, not facts about a person.
</footer>
<script src="/app.js"></script>
</body>
</html>
"""#

    static let style = #"""
:root {
  --bg: #f6f7f9; --card: #ffffff; --text: #1d2330; --muted: #5b6475; --accent: #2f5bd3; --border: #d9dee7;
  --bar-bg: #e8ebf1; --error: #b3261e; --focus: #f0a500; --on-accent: #ffffff;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: var(--text); background: var(--bg);
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #14171d; --card: #1d222b; --text: #e6e9ef; --muted: #a3acbb; --accent: #7d9cff; --border: #343b48; --bar-bg: #2a303b; --error: #ff8a80; --on-accent: #0b1020; }
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0 auto; max-width: 960px; padding: 1rem; line-height: 1.45; }
header h1 { margin: 0.2rem 0; font-size: 1.6rem; }
.subtitle { font-weight: 400; color: var(--muted); font-size: 1rem; }
h2 { font-size: 1.1rem; margin: 0 0 0.6rem; }
.card { background: var(--card); border: 1px solid var(--border); border-radius: 10px; padding: 1rem; margin: 1rem 0; }
.muted { color: var(--muted); }
.small { font-size: 0.85rem; }
.drop-zone { border: 2px dashed var(--border); border-radius: 10px; padding: 1rem; text-align: center; transition: border-color .15s, background .15s; }
.drop-zone.dragging { border-color: var(--accent); background: color-mix(in srgb, var(--accent) 8%, transparent); }
.actions { display: flex; flex-wrap: wrap; gap: 0.5rem; justify-content: center; margin: 0.6rem 0; }
button, .button { font: inherit; padding: 0.5rem 1rem; border-radius: 8px; border: 1px solid var(--accent); background: var(--accent); color: var(--on-accent); cursor: pointer; display: inline-block; }
button[aria-pressed="true"] { background: var(--error); border-color: var(--error); }
button:disabled { opacity: 0.5; cursor: default; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
input[type=file]:focus-visible + .button { outline: 3px solid var(--focus); outline-offset: 2px; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
audio { width: 100%; margin-top: 0.8rem; }
.status { font-size: 1rem; }
.emotion { font-size: 2rem; font-weight: 700; text-transform: capitalize; }
.bars { list-style: none; padding: 0; margin: 0.5rem 0 0; }
.bars li { display: grid; grid-template-columns: 6.5rem 1fr 3.5rem; align-items: center; gap: 0.5rem; margin: 0.25rem 0; }
.bars .label { text-transform: capitalize; }
.bars .track { background: var(--bar-bg); border-radius: 4px; height: 0.9rem; overflow: hidden; }
.bars .fill { height: 100%; width: 0; border-radius: 4px; transition: width .25s ease-out; }
.bars .value { text-align: right; font-variant-numeric: tabular-nums; }
.bars li.top .label { font-weight: 700; }
.error { color: var(--error); font-weight: 600; }
figure { margin: 0 0 0.8rem; }
canvas { width: 100%; display: block; background: var(--bar-bg); border-radius: 6px; }
#waveform { height: 120px; }
#timeline { height: 18px; }
#spectrogram { height: 160px; }
#timeline { border-radius: 0 0 6px 6px; margin-top: 2px; }
.legend { display: flex; flex-wrap: wrap; gap: 0.4rem 0.9rem; font-size: 0.85rem; }
.legend span::before { content: ""; display: inline-block; width: 0.8rem; height: 0.8rem; border-radius: 2px; margin-right: 0.3rem; vertical-align: -1px; background: var(--swatch); }
.segments { width: 100%; border-collapse: collapse; margin-top: 0.8rem; font-size: 0.9rem; }
.segments caption { text-align: left; font-weight: 600; margin-bottom: 0.3rem; }
.segments th, .segments td { text-align: left; padding: 0.2rem 0.4rem; border-bottom: 1px solid var(--border); font-variant-numeric: tabular-nums; }
footer { margin: 1rem 0 2rem; }
footer a { color: var(--accent); }
@media (max-width: 560px) {
  body { padding: 0.5rem; }
  .bars li { grid-template-columns: 5.2rem 1fr 3rem; }
  .emotion { font-size: 1.6rem; }
}
"""#

    static let script = #"""
// ser's web page: upload, record or stream audio and draw what the server hears.
"use strict";

const COLORS = {
  neutral: "#8d99ae", calm: "#4ea8de", happy: "#f4b400", sad: "#5c6bc0", angry: "#e53935",
  fearful: "#8e24aa", disgust: "#43a047", surprised: "#fb8c00", uncertain: "#9e9e9e",
};
const $ = (id) => document.getElementById(id);
let labels = [];
let live = null;
let recorder = null;

function color(label) { return COLORS[label] || "#607d8b"; }
function percent(p) { return `${Math.round(100 * p)}%`; }

function setStatus(text) { $("status").textContent = text; }
function showError(text) {
  const box = $("error");
  box.textContent = text || "";
  box.hidden = !text;
}

function buildBars(names) {
  const list = $("bars");
  list.replaceChildren();
  for (const name of names) {
    const item = document.createElement("li");
    item.dataset.label = name;
    const label = document.createElement("span");
    label.className = "label";
    label.id = `bar-label-${name}`;
    label.textContent = name;
    const track = document.createElement("div");
    track.className = "track";
    track.setAttribute("role", "meter");
    track.setAttribute("aria-labelledby", label.id);
    track.setAttribute("aria-valuemin", "0");
    track.setAttribute("aria-valuemax", "100");
    track.setAttribute("aria-valuenow", "0");
    const fill = document.createElement("div");
    fill.className = "fill";
    fill.style.background = color(name);
    track.append(fill);
    const value = document.createElement("span");
    value.className = "value";
    value.textContent = "–";
    item.append(label, track, value);
    list.append(item);
  }
}

function updateBars(probabilities) {
  const entries = probabilities ? Object.entries(probabilities) : [];
  const top = entries.length ? entries.reduce((a, b) => (b[1] > a[1] ? b : a))[0] : null;
  for (const item of $("bars").children) {
    const p = probabilities ? (probabilities[item.dataset.label] ?? 0) : 0;
    item.querySelector(".fill").style.width = `${(100 * p).toFixed(1)}%`;
    item.querySelector(".track").setAttribute("aria-valuenow", String(Math.round(100 * p)));
    item.querySelector(".value").textContent = probabilities ? percent(p) : "–";
    item.classList.toggle("top", item.dataset.label === top);
  }
}

function showAnswer(answer) {
  const box = $("answer");
  if (!answer.speech) {
    box.hidden = true;
    setStatus("No speech detected: silence, noise or a steady sound. No emotion is reported.");
    updateBars(null);
    return;
  }
  box.hidden = false;
  $("emotion").textContent = answer.emotion;
  $("emotion").style.color = color(answer.emotion);
  $("confidence").textContent = answer.confidence != null ? `${percent(answer.confidence)} confident` : "";
  $("gender").textContent = answer.gender ? `Voice: ${answer.gender.label} (${percent(answer.gender.confidence)})` : "";
  updateBars(answer.probabilities);
}

function canvasContext(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
  const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
  if (canvas.width !== width || canvas.height !== height) { canvas.width = width; canvas.height = height; }
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, width, height);
  return { context, width, height };
}

function drawWaveform(waveform, result) {
  const { context, width, height } = canvasContext($("waveform"));
  const n = waveform.min.length;
  const middle = height / 2;
  // Shade the detected speech span.
  if (result.speech_start != null && result.duration > 0) {
    context.fillStyle = "rgba(47, 91, 211, 0.10)";
    const x0 = (result.speech_start / result.duration) * width, x1 = (result.speech_end / result.duration) * width;
    context.fillRect(x0, 0, Math.max(1, x1 - x0), height);
  }
  context.fillStyle = getComputedStyle(document.documentElement).getPropertyValue("--accent") || "#2f5bd3";
  for (let i = 0; i < n; i++) {
    const x = Math.floor((i / n) * width), w = Math.max(1, Math.ceil(width / n));
    const top = middle - waveform.max[i] * middle, bottom = middle - waveform.min[i] * middle;
    context.fillRect(x, top, w, Math.max(1, bottom - top));
  }
}

function drawTimeline(segments, duration) {
  const canvas = $("timeline");
  const table = $("segments");
  const body = table.querySelector("tbody");
  body.replaceChildren();
  if (!segments || !segments.length || !(duration > 0)) { canvas.hidden = true; table.hidden = true; return; }
  canvas.hidden = false;
  table.hidden = false;
  const { context, width, height } = canvasContext(canvas);
  for (const s of segments) {
    const x0 = (s.start / duration) * width, x1 = (s.end / duration) * width;
    context.fillStyle = s.speech ? color(s.emotion) : "rgba(128,128,128,0.25)";
    context.fillRect(x0, 0, Math.max(1, x1 - x0), height);
    const row = document.createElement("tr");
    for (const text of [`${s.start.toFixed(2)} s`, `${s.end.toFixed(2)} s`, s.speech ? s.emotion : "(no speech)",
                        s.confidence != null ? percent(s.confidence) : ""]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    body.append(row);
  }
}

// A perceptual ramp (dark blue → teal → yellow) for the spectrogram.
const RAMP = [[13, 8, 135], [84, 2, 163], [139, 10, 165], [185, 50, 137], [219, 92, 104], [244, 136, 73], [254, 188, 43], [240, 249, 33]];
function rampColor(v) {
  const x = (v / 255) * (RAMP.length - 1), i = Math.min(RAMP.length - 2, Math.floor(x)), f = x - i;
  return RAMP[i].map((c, k) => Math.round(c + (RAMP[i + 1][k] - c) * f));
}

function drawSpectrogram(spectrogram) {
  const canvas = $("spectrogram");
  const { context, width, height } = canvasContext(canvas);
  const bands = spectrogram.bands, frames = spectrogram.frames;
  if (!bands || !frames) return;
  const image = context.createImageData(frames, bands);
  for (let b = 0; b < bands; b++) {
    const row = spectrogram.values[b];
    for (let t = 0; t < frames; t++) {
      const [r, g, bl] = rampColor(row[t]);
      const offset = 4 * ((bands - 1 - b) * frames + t);   // low frequencies at the bottom
      image.data[offset] = r; image.data[offset + 1] = g; image.data[offset + 2] = bl; image.data[offset + 3] = 255;
    }
  }
  const scratch = document.createElement("canvas");
  scratch.width = frames; scratch.height = bands;
  scratch.getContext("2d").putImageData(image, 0, 0);
  context.imageSmoothingEnabled = true;
  context.drawImage(scratch, 0, 0, width, height);
}

function drawLegend(segments) {
  const legend = $("legend");
  legend.replaceChildren();
  const seen = [...new Set((segments || []).filter((s) => s.speech).map((s) => s.emotion))];
  legend.hidden = seen.length === 0;
  for (const name of seen) {
    const chip = document.createElement("span");
    chip.style.setProperty("--swatch", color(name));
    chip.textContent = name;
    legend.append(chip);
  }
}

function showSignal(result) {
  const card = $("signal-card");
  if (!result.waveform) { card.hidden = true; return; }
  card.hidden = false;
  $("waveform-caption").textContent = `Waveform, ${result.duration.toFixed(2)} s at ${result.sample_rate} Hz`
    + (result.speech_start != null ? `; speech ${result.speech_start.toFixed(2)}–${result.speech_end.toFixed(2)} s (shaded)` : "");
  drawWaveform(result.waveform, result);
  drawTimeline(result.segments, result.duration);
  drawLegend(result.segments);
  if (result.spectrogram) drawSpectrogram(result.spectrogram);
}

async function analyse(blob, name) {
  showError("");
  setStatus(`Listening to ${name}…`);
  const player = $("player");
  player.src = URL.createObjectURL(blob);
  player.hidden = false;
  const form = new FormData();
  form.append("file", blob, name);
  try {
    const response = await fetch("/v1/predict?visuals=true", { method: "POST", body: form });
    const result = await response.json();
    if (!response.ok) {
      setStatus("No answer.");
      showError(result.error || `The server answered ${response.status}.`);
      return;
    }
    if (result.speech) setStatus(`${name}: ${result.duration.toFixed(1)} s`);
    showAnswer(result);
    showSignal(result);
    document.body.dataset.state = "answered";
  } catch (error) {
    setStatus("No answer.");
    showError(`The request failed: ${error.message}`);
  }
}

async function toggleRecording() {
  const button = $("record-button");
  if (recorder) { recorder.stop(); return; }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const chunks = [];
    recorder = new MediaRecorder(stream);
    recorder.ondataavailable = (event) => chunks.push(event.data);
    recorder.onstop = () => {
      stream.getTracks().forEach((track) => track.stop());
      button.textContent = "Record";
      button.setAttribute("aria-pressed", "false");
      const type = recorder.mimeType || "audio/webm";
      recorder = null;
      analyse(new Blob(chunks, { type }), `recording.${type.includes("ogg") ? "ogg" : "webm"}`);
    };
    recorder.start();
    button.textContent = "Stop";
    button.setAttribute("aria-pressed", "true");
    setStatus("Recording… press Stop when done.");
  } catch (error) {
    showError(`The microphone is not available: ${error.message}`);
  }
}

async function toggleLive() {
  const button = $("live-button");
  if (live) { stopLive(); return; }
  try {
    const media = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false } });
    const audio = new AudioContext();
    const source = audio.createMediaStreamSource(media);
    const processor = audio.createScriptProcessor(4096, 1, 1);
    const socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/stream`);
    socket.binaryType = "arraybuffer";
    live = { media, audio, source, processor, socket };
    socket.onopen = () => socket.send(JSON.stringify({ encoding: "f32le", sample_rate: audio.sampleRate, channels: 1, window: 2, hop: 0.5 }));
    socket.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.type === "error") { showError(event.error); stopLive(); return; }
      if (event.type === "reset") { showAdaptation(0); return; }
      if (event.type !== "event") return;
      showAnswer(event);
      if (event.adaptation) showAdaptation(event.adaptation.utterances);
      setStatus(event.speech ? `Live · ${event.t.toFixed(1)} s` : `Live · ${event.t.toFixed(1)} s · no speech`);
    };
    socket.onclose = () => { if (live && live.socket === socket) stopLive(); };
    processor.onaudioprocess = (event) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(new Float32Array(event.inputBuffer.getChannelData(0)).buffer);
    };
    source.connect(processor);
    processor.connect(audio.destination);
    button.textContent = "Stop live";
    button.setAttribute("aria-pressed", "true");
    setStatus("Live: speak, and the bars follow (2 s window, every 0.5 s).");
  } catch (error) {
    showError(`Live mode needs the microphone: ${error.message}`);
    stopLive();
  }
}

/** Says how much of the voice live mode has learnt; hidden for models that cannot adapt. */
function showAdaptation(utterances) {
  $("adaptation").hidden = false;
  $("adaptation-text").textContent = utterances > 0
    ? `Adapting to this voice: ${utterances} utterance${utterances === 1 ? "" : "s"}.`
    : "Listening to a new voice.";
}

/** Forgets the voice (a new speaker): the server answers {"type": "reset"}. */
function resetVoice() {
  if (live && live.socket.readyState === WebSocket.OPEN) live.socket.send(JSON.stringify({ type: "reset" }));
}

function stopLive() {
  if (!live) return;
  const { media, audio, source, processor, socket } = live;
  live = null;
  try { source.disconnect(); processor.disconnect(); } catch (_) { /* already gone */ }
  media.getTracks().forEach((track) => track.stop());
  audio.close();
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "end" }));
  socket.close();
  $("live-button").textContent = "Live";
  $("live-button").setAttribute("aria-pressed", "false");
  $("adaptation").hidden = true;
  setStatus("Live mode stopped.");
}

function setUpDropZone() {
  const zone = $("drop-zone");
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("dragging"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    const file = event.dataTransfer.files[0];
    if (file) analyse(file, file.name);
  });
  $("file-input").addEventListener("change", (event) => {
    const file = event.target.files[0];
    if (file) analyse(file, file.name);
  });
  $("record-button").addEventListener("click", toggleRecording);
  $("live-button").addEventListener("click", toggleLive);
  $("reset-voice").addEventListener("click", resetVoice);
  if (!navigator.mediaDevices || !window.MediaRecorder) {
    $("record-button").disabled = true;
    $("live-button").disabled = true;
    $("record-button").title = "The microphone needs a secure context (https or localhost).";
  }
}

async function loadModel() {
  try {
    const model = await (await fetch("/v1/model")).json();
    labels = model.labels || [];
    const cv = model.cross_validation;
    const accuracy = cv && cv.folds && cv.folds.length
      ? ` · ${(100 * cv.folds.reduce((s, f) => s + f.accuracy, 0) / cv.folds.length).toFixed(1)}% on unseen speakers (${cv.method})` : "";
    $("model-line").textContent = `Model ${model.file}: ${labels.length} emotions, ${model.architecture}${accuracy}`;
  } catch (error) {
    labels = Object.keys(COLORS).filter((name) => name !== "uncertain");
    $("model-line").textContent = "The model description is unavailable.";
  }
  buildBars(labels);
}

setUpDropZone();
loadModel();
"""#
}
