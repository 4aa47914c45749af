// A run's forward pass in the browser: the steps of digitlab/zoo/numpy_net.py (conv2d,
// max_pool, dense, affine = batch norm folded, activation, flatten) on the model that
// digitlab/inference/browser_model.py packs, and the server's reading of the outputs
// (inference/predict.py's interpret: the temperature softmax, the ensemble's mean, the
// abstention rule, the regression's rounding). tests/js/forward.test.mjs holds it to the
// numpy pass within 1e-4 on fixtures written by Python (tests/js/make_net_fixtures.py).
//
// Plain JavaScript rather than ONNX Runtime Web: the zoo's layers are few, this file is a
// few kB where the runtime's wasm is 15 MB, and digitnet answers in a few milliseconds.
// Values are computed in double precision and kept as float32, as numpy keeps them.

export const MODEL_FORMAT = 1; // browser_model.FORMAT
const CLASSIFICATION = "classification";

const ACTIVATIONS = {
  linear: (x) => x,
  relu: (x) => (x > 0 ? x : 0),
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
};

/** A float32 base64 buffer -> Float32Array (little-endian, as Python packs it). */
function decodeWeights(base64) {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

/** The JSON of browser_model.pack -> a model this file runs; throws on another format. */
export function loadModel(payload) {
  if (payload.format !== MODEL_FORMAT) throw new Error(`model format ${payload.format}`);
  const weights = decodeWeights(payload.weights);
  const view = ({ offset, shape }) => ({
    data: weights.subarray(offset, offset + shape.reduce((a, b) => a * b, 1)),
    shape,
  });
  const members = payload.members.map((steps) =>
    steps.map((step) => {
      const resolved = { ...step };
      for (const [name, value] of Object.entries(step)) {
        if (value && typeof value === "object" && "offset" in value) resolved[name] = view(value);
      }
      if (step.activation !== undefined && !(step.activation in ACTIVATIONS)) {
        throw new Error(`activation ${step.activation}`);
      }
      return resolved;
    }),
  );
  return {
    task: payload.task,
    inputSize: payload.inputSize,
    abstainBelow: payload.abstainBelow,
    members,
    resize: payload.resize ? view(payload.resize) : null,
  };
}

// A tensor is { data: Float32Array, shape: [height, width, channels] } or [length].

function conv2d(x, step) {
  const [height, width, channels] = x.shape;
  const [kh, kw, kc, filters] = step.kernel.shape;
  if (kc !== channels) throw new Error(`conv2d: ${channels} channels in, kernel takes ${kc}`);
  const same = step.padding === "same";
  const top = same ? Math.floor((kh - 1) / 2) : 0;
  const left = same ? Math.floor((kw - 1) / 2) : 0;
  const rows = same ? height : height - kh + 1;
  const cols = same ? width : width - kw + 1;
  const kernel = step.kernel.data;
  const bias = step.bias.data;
  const activation = ACTIVATIONS[step.activation];
  const out = new Float32Array(rows * cols * filters);
  const sums = new Float64Array(filters);
  for (let y = 0; y < rows; y++) {
    for (let x0 = 0; x0 < cols; x0++) {
      sums.set(bias);
      for (let i = 0; i < kh; i++) {
        const sy = y + i - top;
        if (sy < 0 || sy >= height) continue;
        for (let j = 0; j < kw; j++) {
          const sx = x0 + j - left;
          if (sx < 0 || sx >= width) continue;
          const inBase = (sy * width + sx) * channels;
          const kBase = (i * kw + j) * channels * filters;
          for (let c = 0; c < channels; c++) {
            const value = x.data[inBase + c];
            if (value === 0) continue; // most of a drawing is empty
            const row = kBase + c * filters;
            for (let f = 0; f < filters; f++) sums[f] += value * kernel[row + f];
          }
        }
      }
      const outBase = (y * cols + x0) * filters;
      for (let f = 0; f < filters; f++) out[outBase + f] = activation(sums[f]);
    }
  }
  return { data: out, shape: [rows, cols, filters] };
}

function maxPool(x, step) {
  const [height, width, channels] = x.shape;
  const [ph, pw] = step.size;
  const rows = Math.floor(height / ph);
  const cols = Math.floor(width / pw);
  const out = new Float32Array(rows * cols * channels).fill(-Infinity);
  for (let y = 0; y < rows * ph; y++) {
    for (let x0 = 0; x0 < cols * pw; x0++) {
      const inBase = (y * width + x0) * channels;
      const outBase = (Math.floor(y / ph) * cols + Math.floor(x0 / pw)) * channels;
      for (let c = 0; c < channels; c++) {
        if (x.data[inBase + c] > out[outBase + c]) out[outBase + c] = x.data[inBase + c];
      }
    }
  }
  return { data: out, shape: [rows, cols, channels] };
}

function dense(x, step) {
  const [inputs, units] = step.kernel.shape;
  if (x.data.length !== inputs) throw new Error(`dense: ${x.data.length} in, takes ${inputs}`);
  const kernel = step.kernel.data;
  const sums = Float64Array.from(step.bias.data);
  for (let i = 0; i < inputs; i++) {
    const value = x.data[i];
    if (value === 0) continue; // after a ReLU, many are
    const row = i * units;
    for (let u = 0; u < units; u++) sums[u] += value * kernel[row + u];
  }
  const activation = ACTIVATIONS[step.activation];
  return { data: Float32Array.from(sums, activation), shape: [units] };
}

function affine(x, step) {
  const channels = x.shape[x.shape.length - 1];
  const scale = step.scale.data;
  const shift = step.shift.data;
  const out = x.data.map((value, i) => value * scale[i % channels] + shift[i % channels]);
  return { data: out, shape: x.shape };
}

const STEPS = {
  conv2d,
  max_pool: maxPool,
  dense,
  affine,
  activation: (x, step) => ({ data: x.data.map(ACTIVATIONS[step.activation]), shape: x.shape }),
  flatten: (x) => ({ data: x.data, shape: [x.data.length] }), // channels last: already in order
};

/** The 28x28 image the model reads at its own size (the tiny net's 20x20, area-averaged). */
function modelInput(model, image28) {
  if (!model.resize) return { data: image28, shape: [28, 28, 1] };
  const [size, full] = model.resize.shape; // (20, 28): data.batch.AREA_28_TO_20
  const area = model.resize.data;
  const half = new Float64Array(size * full); // area @ image
  for (let r = 0; r < size; r++) {
    for (let k = 0; k < full; k++) {
      const weight = area[r * full + k];
      if (weight === 0) continue;
      for (let c = 0; c < full; c++) half[r * full + c] += weight * image28[k * full + c];
    }
  }
  const small = new Float32Array(size * size); // (area @ image) @ area.T
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      let sum = 0;
      for (let k = 0; k < full; k++) sum += half[r * full + k] * area[c * full + k];
      small[r * size + c] = Math.min(Math.max(sum, 0), 1);
    }
  }
  return { data: small, shape: [size, size, 1] };
}

/** Each member's raw outputs (logits, or one regression value) for a 28x28 image in [0, 1]. */
export function rawOutputs(model, image28) {
  const input = modelInput(model, image28);
  return model.members.map((steps) => {
    let x = input;
    for (const step of steps) x = STEPS[step.op](x, step);
    return Float64Array.from(x.data);
  });
}

function softmax(logits, temperature) {
  const scaled = Array.from(logits, (z) => z / temperature);
  const top = Math.max(...scaled);
  const exps = scaled.map((z) => Math.exp(z - top));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / total);
}

function meanOf(rows) {
  return rows[0].map((_, d) => rows.reduce((sum, row) => sum + row[d], 0) / rows.length);
}

/** Python's round(): halves to the even integer (numpy's rint, as regression_digit uses). */
function roundHalfToEven(value) {
  const below = Math.floor(value);
  const fraction = value - below;
  if (fraction === 0.5) return below % 2 === 0 ? below : below + 1;
  return fraction > 0.5 ? below + 1 : below;
}

/**
 * predict.interpret in the browser: {digit, abstained, probabilities, value}. A classifier
 * abstains when its top probability at temperature 1 (the ensemble's: its members' mean)
 * is below the run's threshold; the temperature reshapes only what is shown.
 */
export function interpret(model, outputs, temperature = 1) {
  if (model.task !== CLASSIFICATION) {
    const value = outputs[0][0];
    const digit = Math.min(Math.max(roundHalfToEven(value), 0), 9);
    return { digit, abstained: false, probabilities: null, value };
  }
  const probabilities = meanOf(outputs.map((logits) => softmax(logits, temperature)));
  const atOne = meanOf(outputs.map((logits) => softmax(logits, 1)));
  const label = probabilities.indexOf(Math.max(...probabilities));
  const threshold = model.abstainBelow;
  const abstained = threshold !== null && threshold !== undefined && Math.max(...atOne) < threshold;
  return { digit: abstained ? null : label, abstained, probabilities, value: null };
}
