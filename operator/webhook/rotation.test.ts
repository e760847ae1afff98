import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { certificateInfo, isSignedBy, splitPemBundle } from "./certificates.ts";
import {
  applyRotation,
  DEFAULT_ROTATION_TIMING as T,
  planRotation,
  trustBundle,
  type TlsMaterial,
} from "./rotation.ts";

const DAY = 24 * 60 * 60_000;
const HOSTS = ["mcp-warden-webhook.mcp-warden.svc", "127.0.0.1"];
const t0 = Date.UTC(2026, 0, 1);

async function step(material: TlsMaterial, now: number, hosts = HOSTS, timing = T): Promise<TlsMaterial> {
  return applyRotation(material, planRotation(material, hosts, now, timing), hosts, now, timing);
}

describe("planRotation", () => {
  it("bootstraps a CA and a serving certificate, then has nothing to do until renewal is due", async () => {
    const empty: TlsMaterial = { retiredCas: [] };
    assert.deepEqual(
      planRotation(empty, HOSTS, t0).steps.map((s) => s.kind),
      ["bootstrap"],
    );
    const m = await step(empty, t0);
    assert.ok(isSignedBy(m.serving?.cert, m.ca?.cert));
    const serving = certificateInfo(m.serving?.cert);
    assert.deepEqual(serving?.dnsNames, ["mcp-warden-webhook.mcp-warden.svc"]);
    assert.deepEqual(serving?.ipAddresses, ["127.0.0.1"]);
    assert.equal(certificateInfo(m.ca?.cert)?.isCA, true);
    const plan = planRotation(m, HOSTS, t0);
    assert.deepEqual(plan.steps, []);
    // Renewal is due with a third of the 30-day life left: 20 days in.
    assert.ok(Math.abs(plan.nextCheckAt - t0) <= T.recheckMs, "checks at least hourly");
    assert.deepEqual(planRotation(m, HOSTS, t0 + 19 * DAY).steps, []);
    assert.deepEqual(
      planRotation(m, HOSTS, t0 + 20 * DAY).steps.map((s) => s.kind),
      ["issue-serving"],
    );
  });

  it("renews short-lived certificates when a third of their validity is left, not counting the backdated start", async () => {
    const short = {
      caValidityMs: 45_000,
      servingValidityMs: 30_000,
      renewFraction: 1 / 3,
      caPropagationMs: 5_000,
      recheckMs: 1_000,
    };
    const m = await step({ retiredCas: [] }, t0, HOSTS, short);
    assert.deepEqual(planRotation(m, HOSTS, t0 + 1_000, short).steps, []);
    assert.deepEqual(planRotation(m, HOSTS, t0 + 19_000, short).steps, []);
    assert.deepEqual(
      planRotation(m, HOSTS, t0 + 20_000, short).steps.map((s) => s.kind),
      ["issue-serving"],
    );
    assert.deepEqual(
      planRotation(m, HOSTS, t0 + 30_000, short).steps.map((s) => s.kind),
      ["stage-ca", "issue-serving"],
    );
  });

  it("reissues the serving certificate when the hosts change or its key does not match", async () => {
    const m = await step({ retiredCas: [] }, t0);
    assert.deepEqual(
      planRotation(m, [...HOSTS, "extra.example"], t0).steps.map((s) => s.kind),
      ["issue-serving"],
    );
    const other = await step({ retiredCas: [] }, t0);
    const mismatched = { ...m, serving: { cert: m.serving!.cert, key: other.serving!.key } };
    const plan = planRotation(mismatched, HOSTS, t0);
    assert.equal(plan.steps[0]?.kind, "issue-serving");
    assert.match((plan.steps[0] as { why: string }).why, /key does not match/);
  });

  it("starts over when the CA is unusable", async () => {
    const m = await step({ retiredCas: [] }, t0);
    const broken = {
      ...m,
      ca: { cert: m.ca!.cert, key: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" },
    };
    assert.deepEqual(
      planRotation(broken, HOSTS, t0).steps.map((s) => s.kind),
      ["bootstrap"],
    );
  });

  it("replaces the CA in two steps: trusted first, signing only after the propagation delay", async () => {
    let m = await step({ retiredCas: [] }, t0);
    const stageAt = t0 + 244 * DAY; // past two thirds of 365 days
    assert.deepEqual(
      planRotation(m, HOSTS, stageAt).steps.map((s) => s.kind),
      ["stage-ca", "issue-serving"],
    );
    m = await step(m, stageAt);
    const oldCa = m.ca!.cert;
    assert.equal(splitPemBundle(trustBundle(m)).length, 2, "old and new CA both trusted");
    assert.ok(isSignedBy(m.serving?.cert, oldCa), "still signed by the old CA");
    assert.deepEqual(planRotation(m, HOSTS, stageAt + T.caPropagationMs - 1).steps, []);
    m = await step(m, stageAt + T.caPropagationMs);
    assert.notEqual(m.ca!.cert, oldCa);
    assert.ok(isSignedBy(m.serving?.cert, m.ca?.cert), "the new CA signs");
    assert.deepEqual(m.retiredCas, [oldCa], "the old CA stays trusted");
    assert.equal(m.nextCa, undefined);
    const afterOldExpiry = t0 + 366 * DAY;
    assert.ok(planRotation(m, HOSTS, afterOldExpiry).steps.some((s) => s.kind === "drop-retired"));
  });
});

describe("certificate rotation over two years", () => {
  it("always serves a valid certificate from a CA the API server has trusted for long enough", async () => {
    // Checks every three days at the latest (instead of hourly) keep the simulation quick.
    const timing = { ...T, recheckMs: 3 * DAY };
    let m: TlsMaterial = { retiredCas: [] };
    const trustedSince = new Map<string, number>();
    let now = t0;
    let rotations = 0;
    let lastServing = "";
    const signers = new Set<string>();
    while (now < t0 + 730 * DAY) {
      const plan = planRotation(m, HOSTS, now, timing);
      if (plan.steps.length > 0) {
        rotations++;
        m = await step(m, now, HOSTS, timing);
        assert.deepEqual(planRotation(m, HOSTS, now, timing).steps, [], "one pass settles the material");
      }
      const bundle = splitPemBundle(trustBundle(m));
      for (const ca of bundle) if (!trustedSince.has(ca)) trustedSince.set(ca, now);
      const serving = certificateInfo(m.serving?.cert);
      assert.ok(
        serving && serving.notBefore <= now && now < serving.notAfter,
        `valid serving certificate at day ${(now - t0) / DAY}`,
      );
      const signer = bundle.find((ca) => isSignedBy(m.serving?.cert, ca));
      assert.ok(signer, "signed by a trusted CA");
      if (serving.fingerprint !== lastServing) {
        // A newly issued certificate: its CA must have been in caBundle long enough already
        // (except at bootstrap, when there is nothing to replace).
        const trustedFor = now - (trustedSince.get(signer) as number);
        assert.ok(
          now === t0 || trustedSince.get(signer) === t0 || trustedFor >= T.caPropagationMs,
          `new CA signed after ${trustedFor} ms of trust`,
        );
        lastServing = serving.fingerprint;
      }
      signers.add(signer);
      // Material only changes at checks, so validity at consecutive checks covers the time between.
      now = planRotation(m, HOSTS, now, timing).nextCheckAt + 1;
    }
    assert.ok(rotations >= 30, `expected monthly renewals and a CA change, saw ${rotations} rotations`);
    assert.ok(signers.size >= 2, "the CA was replaced at least once");
  });
});
