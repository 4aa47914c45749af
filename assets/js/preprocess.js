// The browser's copy of digitlab/data/preprocess.py for canvas drawings: a drawing's RGBA
// pixels -> the 28x28 MNIST-style input the models read, so a model can answer in the page
// while the pen moves. It must give what `preprocess` gives, to 1e-5 a pixel:
// tests/js/preprocess.test.mjs checks it against fixtures written by Python
// (tests/js/make_fixtures.py). Change the two together.
//
// Only the canvas's own case is here: ink in the alpha channel of a mostly transparent
// image. Photos and scans (no alpha, or opaque) go through the server's lighting and
// polarity steps; for those `preprocess` returns null and the page waits for the server.

export const MNIST_SIZE = 28;
export const DIGIT_BOX = 20;
const ALPHA_TOLERANCE = 0.02; // alpha spread below this counts as constant
const BBOX_TRIM = 0.002; // ink mass left outside the bounding box at each end
const MIN_INK_PIXELS = 6.0;
const MIN_INK_AREA_FRACTION = 2e-4;
const MIN_EXTENT_FRACTION = 0.03;
const HALF_PIXEL_BAND = 1e-6; // a shift this close to a half pixel is a tie

const f32 = Math.fround; // numpy computes these images in float32

/** Python's round(): to the nearest integer, halves to the even one. */
function roundHalfEven(value) {
  const below = Math.floor(value);
  const fraction = value - below;
  if (fraction === 0.5) return below + (below % 2 === 0 ? 0 : 1);
  return fraction > 0.5 ? below + 1 : below;
}

/** preprocess.py's nearest_pixel: halves (within HALF_PIXEL_BAND) to the even pixel. */
export function nearestPixel(shift) {
  const below = Math.floor(shift);
  const fraction = shift - below;
  if (Math.abs(fraction - 0.5) <= HALF_PIXEL_BAND) return below + (below % 2 === 0 ? 0 : 1);
  return below + (fraction > 0.5 ? 1 : 0);
}

/**
 * The ink of a canvas drawing, float32 in [0, 1] (its alpha), or null when the image is
 * not a canvas drawing (ink_map would take its grey-paper path: the server's job).
 */
export function canvasInk(rgba, width, height) {
  const size = width * height;
  if (rgba.length !== size * 4) {
    throw new Error(`expected ${size * 4} RGBA values for ${width}x${height}, got ${rgba.length}`);
  }
  const alpha = new Float32Array(size);
  let low = Infinity;
  let high = -Infinity;
  let opaque = 0;
  for (let i = 0; i < size; i++) {
    const value = f32(rgba[i * 4 + 3] / 255);
    alpha[i] = value;
    if (value < low) low = value;
    if (value > high) high = value;
    if (value > 0.5) opaque++;
  }
  if (high - low <= ALPHA_TOLERANCE) {
    return high <= ALPHA_TOLERANCE ? new Float32Array(size) : null;
  }
  return opaque < size / 2 ? alpha : null;
}

/** numpy.searchsorted on a non-decreasing array: how many entries are below (or at). */
function countBelow(sorted, value, orEqual) {
  let count = 0;
  while (count < sorted.length && (orEqual ? sorted[count] <= value : sorted[count] < value)) {
    count++;
  }
  return count;
}

/** _span: the first and one-past-last index holding all but BBOX_TRIM of the mass. */
function span(mass) {
  const cumulative = new Float64Array(mass.length);
  let running = 0;
  for (let i = 0; i < mass.length; i++) cumulative[i] = running += mass[i];
  const total = cumulative[mass.length - 1];
  const start = countBelow(cumulative, BBOX_TRIM * total, true);
  const stop = countBelow(cumulative, (1 - BBOX_TRIM) * total, false) + 1;
  return [start, Math.max(stop, start + 1)];
}

/** _bbox: [top, bottom, left, right] (bottom and right exclusive), or null with no ink. */
function inkBox(ink, width, height) {
  const rows = new Float64Array(height);
  const cols = new Float64Array(width);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const value = ink[y * width + x];
      rows[y] += value;
      cols[x] += value;
    }
  }
  if (rows.reduce((a, b) => a + b, 0) <= 0) return null;
  return [...span(rows), ...span(cols)];
}

function isBlank(ink, width, height, box) {
  if (box === null) return true;
  const total = ink.reduce((a, b) => a + b, 0);
  if (total < Math.max(MIN_INK_PIXELS, MIN_INK_AREA_FRACTION * ink.length)) return true;
  const extent = Math.max(box[1] - box[0], box[3] - box[2]);
  return extent < MIN_EXTENT_FRACTION * Math.max(width, height);
}

// --- Pillow's resize of a float image ("F" mode), pass by pass --------------------------
// Pillow resamples rows, then columns, each output pixel a normalised weighted sum (in
// double, stored as float32) of the input pixels whose centres the filter covers. BOX
// shrinks (area averaging, as MNIST was made); BILINEAR enlarges a drawing under 20 px.

const FILTERS = {
  box: { support: 0.5, weight: (x) => (x > -0.5 && x <= 0.5 ? 1.0 : 0.0) },
  bilinear: { support: 1.0, weight: (x) => Math.max(0, 1 - Math.abs(x)) },
};

/** For each output pixel: [first input pixel, its weights]. (Pillow's precompute_coeffs.) */
function coefficients(inSize, outSize, filter) {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1.0);
  const support = filter.support * filterScale;
  const result = [];
  for (let out = 0; out < outSize; out++) {
    const centre = (out + 0.5) * scale;
    const first = Math.max(Math.trunc(centre - support + 0.5), 0);
    const last = Math.min(Math.trunc(centre + support + 0.5), inSize);
    const reciprocal = 1.0 / filterScale; // Pillow multiplies by it: the same last bits
    const weights = [];
    let sum = 0.0;
    for (let i = first; i < last; i++) {
      const weight = filter.weight((i - centre + 0.5) * reciprocal);
      weights.push(weight);
      sum += weight;
    }
    result.push([first, sum === 0 ? weights : weights.map((w) => w / sum)]);
  }
  return result;
}

/** Resize a float32 image along one axis (rows: along x; columns: along y). */
function resizeAxis(image, width, height, newSize, filter, alongX) {
  const inSize = alongX ? width : height;
  const outWidth = alongX ? newSize : width;
  const outHeight = alongX ? height : newSize;
  const out = new Float32Array(outWidth * outHeight);
  const coeffs = coefficients(inSize, newSize, filter);
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      const [first, weights] = coeffs[alongX ? x : y];
      let sum = 0.0;
      for (let k = 0; k < weights.length; k++) {
        const pixel = alongX ? image[y * width + first + k] : image[(first + k) * width + x];
        sum += pixel * weights[k];
      }
      out[y * outWidth + x] = sum;
    }
  }
  return out;
}

/** _fit_box: the longer side to DIGIT_BOX pixels, the aspect ratio kept. */
function fitBox(crop, width, height) {
  const scale = DIGIT_BOX / Math.max(height, width);
  const newWidth = Math.max(1, roundHalfEven(width * scale));
  const newHeight = Math.max(1, roundHalfEven(height * scale));
  if (newWidth === width && newHeight === height) return [crop, width, height];
  const filter = scale < 1 ? FILTERS.box : FILTERS.bilinear;
  let image = crop;
  if (newWidth !== width) image = resizeAxis(image, width, height, newWidth, filter, true);
  if (newHeight !== height) image = resizeAxis(image, newWidth, height, newHeight, filter, false);
  return [image, newWidth, newHeight];
}

/** _paste_centred: the digit's centre of mass on the frame's centre, to the nearest pixel. */
function pasteCentred(frame, digit, width, height) {
  const rows = new Float64Array(height);
  const cols = new Float64Array(width);
  let total = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const value = digit[y * width + x];
      rows[y] += value;
      cols[x] += value;
      total += value;
    }
  }
  let massRow = 0;
  let massCol = 0;
  rows.forEach((value, y) => (massRow += value * y));
  cols.forEach((value, x) => (massCol += value * x));
  const centre = (MNIST_SIZE - 1) / 2;
  const top = nearestPixel(centre - massRow / total);
  const left = nearestPixel(centre - massCol / total);
  for (let y = Math.max(top, 0); y < Math.min(top + height, MNIST_SIZE); y++) {
    for (let x = Math.max(left, 0); x < Math.min(left + width, MNIST_SIZE); x++) {
      frame[y * MNIST_SIZE + x] = Math.min(Math.max(digit[(y - top) * width + x - left], 0), 1);
    }
  }
}

/**
 * A canvas drawing (RGBA bytes, as ImageData.data) -> {image: Float32Array(784) row by row
 * in [0, 1], blank}, or null for an image that is not a canvas drawing.
 */
export function preprocess(rgba, width, height) {
  const ink = canvasInk(rgba, width, height);
  if (ink === null) return null;
  const frame = new Float32Array(MNIST_SIZE * MNIST_SIZE);
  const box = inkBox(ink, width, height);
  const blank = isBlank(ink, width, height, box);
  if (box === null) return { image: frame, blank };
  const [top, bottom, left, right] = box;
  const cropWidth = right - left;
  const cropHeight = bottom - top;
  const crop = new Float32Array(cropWidth * cropHeight);
  for (let y = 0; y < cropHeight; y++) {
    crop.set(ink.subarray((top + y) * width + left, (top + y) * width + right), y * cropWidth);
  }
  const [digit, digitWidth, digitHeight] = fitBox(crop, cropWidth, cropHeight);
  const peak = digit.reduce((a, b) => Math.max(a, b), 0);
  if (peak <= 0) return { image: frame, blank };
  const scaled = digit.map((value) => f32(value / peak)); // full-strength ink from faint strokes
  pasteCentred(frame, scaled, digitWidth, digitHeight);
  return { image: frame, blank };
}
