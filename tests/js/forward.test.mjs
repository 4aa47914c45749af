// assets/js/forward.js against the numpy forward pass and predict.interpret, on the models
// and inputs of net_fixtures.json (written by make_net_fixtures.py). Run: node --test tests/js/
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { interpret, loadModel, rawOutputs } from "../../assets/js/forward.js";

const TOLERANCE = 1e-4; // on probabilities (and raw outputs), as the issue asks
const fixtures = JSON.parse(readFileSync(new URL("./net_fixtures.json", import.meta.url)));
const images = fixtures.images.map((text) => {
  const bytes = Buffer.from(text, "base64");
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
});

function worstDifference(actual, expected) {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  }
  return worst;
}

test("the fixtures cover every step, the 20x20 net, an ensemble and a regression", () => {
  const ops = new Set(fixtures.models.flatMap((m) => m.model.members.flat().map((s) => s.op)));
  for (const op of ["conv2d", "max_pool", "dense", "affine", "activation", "flatten"]) {
    assert.ok(ops.has(op), `no fixture model has a ${op} step`);
  }
  const tasks = fixtures.models.map((m) => [m.model.task, m.model.inputSize]);
  assert.ok(tasks.some(([, size]) => size === 20));
  assert.ok(tasks.some(([task]) => task === "regression"));
  assert.ok(fixtures.models.some((m) => m.model.members.length > 1));
  const abstained = fixtures.models.flatMap((m) => m.cases.map((c) => c.answers[0].abstained));
  assert.ok(abstained.includes(true) && abstained.includes(false));
});

for (const fixture of fixtures.models) {
  const model = loadModel(fixture.model);
  fixture.cases.forEach((expected, index) => {
    test(`${fixture.name}, input ${index}: the numpy pass's outputs and answer`, () => {
      const outputs = rawOutputs(model, images[index]);
      assert.equal(outputs.length, expected.outputs.length, "one row of outputs per member");
      outputs.forEach((row, member) => {
        const worst = worstDifference(row, expected.outputs[member]);
        assert.ok(worst <= TOLERANCE, `member ${member}'s outputs differ by ${worst}`);
      });
      for (const answer of expected.answers) {
        const said = interpret(model, outputs, answer.temperature);
        const at = `at T = ${answer.temperature}`;
        assert.equal(said.abstained, answer.abstained, `abstained ${at}`);
        assert.equal(said.digit, answer.label, `the digit ${at}`);
        if (answer.probabilities === null) {
          assert.equal(said.probabilities, null);
          continue;
        }
        const worst = worstDifference(said.probabilities, answer.probabilities);
        assert.ok(worst <= TOLERANCE, `probabilities ${at} differ by ${worst}`);
      }
    });
  });
}

test("a model of another format is refused, not misread", () => {
  const other = { ...fixtures.models[0].model, format: 2 };
  assert.throws(() => loadModel(other), /model format 2/);
});
