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
