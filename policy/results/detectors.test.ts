// The detector corpus as a table test: every built-in detector finds each of its true positives (and
// redaction removes the secret) and none of its false positives.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BUILTIN_DETECTORS } from "./detectors.ts";
import { detectorCorpus } from "./corpus.testing.ts";
import { compileDetector, redactText } from "./scanner.ts";

const corpus = detectorCorpus();

test("every built-in detector has a corpus of at least 20 true and 20 false positives", () => {
  assert.deepEqual(Object.keys(corpus).sort(), BUILTIN_DETECTORS.map((d) => d.name).sort());
  for (const [name, c] of Object.entries(corpus)) {
    assert.ok(c.truePositives.length >= 20, `${name}: ${c.truePositives.length} true positives`);
    assert.ok(c.falsePositives.length >= 20, `${name}: ${c.falsePositives.length} false positives`);
  }
});

for (const definition of BUILTIN_DETECTORS) {
  const detector = compileDetector(definition);
  const { truePositives, falsePositives } = corpus[definition.name] ?? { truePositives: [], falsePositives: [] };
  test(`${definition.name}: finds its true positives and redacts the secret`, () => {
    for (const { text, secret } of truePositives) {
      const findings = detector.find(text);
      assert.ok(findings.length > 0, `missed: ${JSON.stringify(text)}`);
      const redacted = redactText(text, findings);
      assert.ok(!redacted.includes(secret), `left the secret in: ${JSON.stringify(redacted)}`);
      assert.ok(redacted.includes(`[REDACTED:${definition.name}]`));
    }
  });
  test(`${definition.name}: no match on its false positives`, () => {
    for (const text of falsePositives) {
      const found = detector.find(text).map((f) => text.slice(f.start, f.end));
      assert.deepEqual(found, [], `false positive in ${JSON.stringify(text)}`);
    }
  });
}
