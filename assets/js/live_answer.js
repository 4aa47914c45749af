// The Draw page's live answer: while a stroke is drawn, the model answers in the page.
//
// A components-v2 component (digitlab/ui/live_answer.py inlines this file after
// preprocess.js and forward.js, dropping their imports). The canvas is
// streamlit-drawable-canvas, another component on the same page with no iframe: its
// finished strokes are on `canvas.lower-canvas` and the stroke under way on
// `canvas.upper-canvas`, in its open shadow root. On every animation frame after a pen move
// this reads both, preprocesses them as the server does and runs the forward pass; the
// server's answer still comes when the pen lifts, and is the one stored and explained.
//
// The element carries data-live-digit (the digit, "?" when the model would abstain, ""
// when nothing is drawn or nothing can answer yet) and data-live-frame (how many answers it
// has given), which the browser tests read.
import { preprocess } from "./preprocess.js";
import { interpret, loadModel, rawOutputs } from "./forward.js";

// Module state outlives reruns and remounts: the module is evaluated once per page.
const loadedModels = new Map(); // model version -> model: asked for once per version per page
const MAX_ASKS_PER_VERSION = 5; // the server's answer lost that often: stay as today
// An ask whose answer has not come by then is asked again: a run that carried the weights
// can be cut short by the next one (a busy server's first seconds rerun several times), and
// an idle page renders no more runs that would ask.
const ASK_AGAIN_MS = 4000;
const asks = new Map(); // model version -> how often this page asked for it
let askNumber = 0;
const views = new WeakMap(); // the component's element -> its view
const IDLE_CHECK_MS = 250; // Undo, Clear, a restored drawing: no pen event, so look now and then
const AFTER_PEN_UP_MS = 40; // the canvas draws the finished stroke on its next frame
const PEN_DOWN = ["pointerdown", "mousedown", "touchstart"];
const PEN_MOVE = ["pointermove", "mousemove", "touchmove"];
const PEN_UP = ["pointerup", "mouseup", "touchend", "pointercancel", "touchcancel"];

function buildView(parent) {
  const root = document.createElement("div");
  root.className = "live";
  root.hidden = true; // until a model is loaded: the page is as it was without this
  root.setAttribute("aria-hidden", "true"); // the server's answer is the accessible one
  root.dataset.liveDigit = "";
  root.dataset.liveFrame = "0";
  root.innerHTML =
    '<div class="live-head"><span class="live-title">Live</span>' +
    '<span class="live-digit">—</span></div><div class="live-bars"></div>' +
    '<div class="live-note"></div>';
  const bars = root.querySelector(".live-bars");
  const fills = [];
  for (let digit = 0; digit < 10; digit++) {
    const bar = document.createElement("div");
    bar.className = "live-bar";
    bar.innerHTML = `<div class="live-track"><div class="live-fill"></div></div><span>${digit}</span>`;
    bars.appendChild(bar);
    fills.push(bar.querySelector(".live-fill"));
  }
  parent.appendChild(root);
  const view = {
    root,
    digit: root.querySelector(".live-digit"),
    bars,
    fills,
    note: root.querySelector(".live-note"),
    frames: 0,
    outputs: null, // the last frame's raw outputs, re-read at a new temperature
    drawn: false,
    penDown: false,
    scheduled: false,
    fingerprint: null,
    canvases: null,
    scratch: null,
    data: null,
    model: null,
    version: null,
  };
  views.set(parent, view);
  return view;
}

/** The drawing canvas's two layers, found again whenever the canvas was remounted. */
function canvasLayers(view) {
  const known = view.canvases;
  if (known && known.upper.isConnected) return known;
  view.canvases = null;
  const host = document.querySelector(`.st-key-${view.data.canvasKey}`);
  if (!host) return null;
  for (const element of host.querySelectorAll("*")) {
    const upper = element.shadowRoot?.querySelector("canvas.upper-canvas");
    // Its own lower canvas, beside it: the background image has a lower-canvas too.
    const lower = upper?.parentElement.querySelector("canvas.lower-canvas");
    if (upper && lower) return (view.canvases = { upper, lower });
  }
  return null;
}

/** The drawing as RGBA bytes, both layers over each other, at the canvas's own size. */
function readDrawing(view) {
  const layers = canvasLayers(view);
  if (!layers) return null;
  const { width, height } = layers.lower;
  if (!view.scratch) view.scratch = document.createElement("canvas");
  const scratch = view.scratch;
  if (scratch.width !== width || scratch.height !== height) {
    scratch.width = width;
    scratch.height = height;
  }
  const context = scratch.getContext("2d", { willReadFrequently: true });
  context.clearRect(0, 0, width, height);
  context.drawImage(layers.lower, 0, 0);
  context.drawImage(layers.upper, 0, 0);
  return { rgba: context.getImageData(0, 0, width, height).data, width, height };
}

function show(view) {
  const { root, digit, fills, note } = view;
  const model = view.model;
  if (!model || !view.outputs) {
    root.dataset.liveDigit = "";
    digit.textContent = "—";
    fills.forEach((fill) => (fill.style.height = "0%"));
    root.classList.remove("unsure");
    return;
  }
  const said = interpret(model, view.outputs, view.data.temperature);
  const shown = said.abstained ? "?" : String(said.digit);
  root.dataset.liveDigit = shown;
  digit.textContent = shown;
  root.classList.toggle("unsure", said.abstained);
  view.bars.hidden = said.probabilities === null; // a regression gives one number
  note.textContent = said.probabilities ? "" : `predicted value ${said.value.toFixed(2)}`;
  if (said.probabilities) {
    const best = said.probabilities.indexOf(Math.max(...said.probabilities));
    said.probabilities.forEach((p, d) => {
      fills[d].style.height = `${(100 * p).toFixed(1)}%`;
      fills[d].classList.toggle("best", d === best);
    });
  }
}

/** One answer: read the canvas, preprocess, run the model, show it, count it. */
function answer(view) {
  view.scheduled = false;
  if (!view.model || !view.root.isConnected) return;
  try {
    const drawing = readDrawing(view);
    if (!drawing) return;
    const prepared = preprocess(drawing.rgba, drawing.width, drawing.height);
    view.outputs = prepared && !prepared.blank ? rawOutputs(view.model, prepared.image) : null;
    show(view);
  } catch (error) {
    // Off for this model, hidden: the page is as it was without the live answer.
    console.warn("DigitLab's live answer is off:", error);
    loadedModels.delete(view.data.version);
    view.model = null;
    view.root.hidden = true;
    return;
  }
  view.frames += 1;
  view.root.dataset.liveFrame = String(view.frames);
}

function schedule(view) {
  if (view.scheduled) return;
  view.scheduled = true;
  requestAnimationFrame(() => answer(view));
}

/** A cheap look at the canvas while no pen moves: answer again only if the ink changed. */
function checkIdle(view) {
  if (view.penDown || !view.model) return;
  const drawing = readDrawing(view);
  if (!drawing) return;
  let fingerprint = 0;
  for (let i = 3; i < drawing.rgba.length; i += 4) {
    fingerprint = (fingerprint * 31 + drawing.rgba[i] * (i + 1)) % 2147483647;
  }
  if (fingerprint !== view.fingerprint) {
    view.fingerprint = fingerprint;
    schedule(view);
  }
}

function onTheCanvas(view, event) {
  const layers = canvasLayers(view);
  return layers !== null && event.composedPath().includes(layers.upper);
}

function listen(view) {
  const down = (event) => {
    if (!onTheCanvas(view, event)) return;
    view.penDown = true;
    schedule(view);
  };
  const move = () => view.penDown && schedule(view);
  const up = () => {
    if (!view.penDown) return;
    view.penDown = false;
    setTimeout(() => schedule(view), AFTER_PEN_UP_MS);
  };
  const handlers = [
    ...PEN_DOWN.map((type) => [type, down]),
    ...PEN_MOVE.map((type) => [type, move]),
    ...PEN_UP.map((type) => [type, up]),
  ];
  const options = { capture: true, passive: true };
  for (const [type, handler] of handlers) document.addEventListener(type, handler, options);
  const timer = setInterval(() => checkIdle(view), IDLE_CHECK_MS);
  return () => {
    clearInterval(timer);
    for (const [type, handler] of handlers) document.removeEventListener(type, handler, options);
  };
}

function askFor(version, setStateValue) {
  if (loadedModels.has(version) || (asks.get(version) ?? 0) >= MAX_ASKS_PER_VERSION) return;
  asks.set(version, (asks.get(version) ?? 0) + 1);
  askNumber += 1;
  setStateValue("missing", { version, ask: askNumber });
  setTimeout(() => askFor(version, setStateValue), ASK_AGAIN_MS);
}

export default function ({ data, parentElement, setStateValue }) {
  const view = views.get(parentElement) ?? buildView(parentElement);
  view.data = data;
  if (data.unsupported) {
    view.model = null;
    view.root.hidden = false;
    view.root.classList.add("later");
    view.note.textContent = data.unsupported;
    show(view);
    return () => {};
  }
  view.root.classList.remove("later");
  view.note.textContent = "";
  if (data.model && !loadedModels.has(data.version)) {
    try {
      loadedModels.set(data.version, loadModel(data.model));
    } catch (error) {
      console.warn("DigitLab's live answer is off: the model could not be loaded", error);
    }
  }
  view.model = loadedModels.get(data.version) ?? null;
  if (view.version !== data.version) view.outputs = null; // another model's outputs
  view.version = data.version;
  if (!view.model && !data.model) {
    // A model this page has not had: ask for it. It comes with the next run, so the page's
    // first answer never waits for a megabyte of weights.
    askFor(data.version, setStateValue);
  }
  view.root.hidden = view.model === null;
  view.fingerprint = null; // a new model or temperature: answer again at the next look
  show(view);
  return listen(view);
}
