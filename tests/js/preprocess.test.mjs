// assets/js/preprocess.js against Python's preprocess, on the drawings of fixtures.json
// (written by make_fixtures.py). Run with: node --test tests/js/
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { inflateSync } from "node:zlib";

import { nearestPixel, preprocess } from "../../assets/js/preprocess.js";

const TOLERANCE = 1e-5; // per pixel, as the issue asks
const fixtures = JSON.parse(readFileSync(new URL("./fixtures.json", import.meta.url)));

function rgbaOf(fixture) {
  const alpha = inflateSync(Buffer.from(fixture.alpha, "base64"));
  const rgba = new Uint8ClampedArray(fixture.width * fixture.height * 4);
  alpha.forEach((value, i) => (rgba[i * 4 + 3] = value)); // black ink, as the canvas draws
  return rgba;
}

function expectedImage(fixture) {
  const bytes = Buffer.from(fixture.image, "base64");
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
}

test("the fixtures cover pen digits and every branch", () => {
  assert.ok(fixtures.length >= 20);
  assert.ok(fixtures.filter((f) => f.name.startsWith("pen")).length >= 10);
  assert.ok(fixtures.some((f) => f.blank) && fixtures.some((f) => !f.canvas));
});

for (const fixture of fixtures) {
  test(`${fixture.name}: the same 28x28 input as Python`, () => {
    const result = preprocess(rgbaOf(fixture), fixture.width, fixture.height);
    if (!fixture.canvas) {
      assert.equal(result, null, "not a canvas drawing: the server's path");
      return;
    }
    assert.equal(result.blank, fixture.blank);
    const expected = expectedImage(fixture);
    let worst = 0;
    let where = -1;
    for (let i = 0; i < expected.length; i++) {
      const difference = Math.abs(result.image[i] - expected[i]);
      if (difference > worst) [worst, where] = [difference, i];
    }
    const at = `row ${Math.floor(where / 28)}, column ${where % 28}`;
    assert.ok(worst <= TOLERANCE, `differs by ${worst} at ${at}`);
  });
}

test("half-pixel shifts round to the even pixel, as Python's round does", () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5].map(nearestPixel), [0, 2, 2, 0, -2]);
  assert.equal(nearestPixel(2.5 + 1e-12), 2); // summation noise is still a tie
  assert.equal(nearestPixel(2.5 + 1e-3), 3);
  assert.equal(nearestPixel(1.49), 1);
});

test("a wrong buffer size is refused with a clear message", () => {
  assert.throws(() => preprocess(new Uint8ClampedArray(10), 4, 4), /expected 64 RGBA values/);
});
