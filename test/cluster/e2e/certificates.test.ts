// End-to-end, scenario 8: the webhook's CA and serving certificate rotate (ADR 304: a new CA is
// trusted in the caBundle first, signs only later, and the old one stays trusted until it expires)
// while pods are created back to back, and not one admission fails. The operator runs in-process,
// as the only way to give it lifetimes of seconds: with the shipped ones (CA 365 days, serving
// certificate 30 days) nothing would rotate during a test. Everything else is the real thing.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { connect } from "node:tls";
import { after, before, describe, it } from "node:test";
import { AdmissionregistrationV1Api, CoreV1Api } from "@kubernetes/client-node";
import { pino } from "pino";
import { SIDECAR_CONTAINER } from "../../../operator/names.ts";
import { startOperator, type RunningOperator } from "../../../operator/operator.ts";
import { splitPemBundle } from "../../../operator/webhook/certificates.ts";
import type { RotationTiming } from "../../../operator/webhook/rotation.ts";
import { startControlPlane, type ControlPlane } from "../harness.ts";
import { applyWebhookConfiguration, installMcpWarden, waitForInjection } from "../install.ts";
import { inProcessOperatorOptions } from "../operator-process.ts";
import { freePorts } from "../../support/ports.ts";
import { mcpPolicy, serverPod, yaml, type ServerOptions } from "./manifests.ts";
import { eventually } from "../../support/eventually.ts";

/**
 * A whole rotation in about half a minute: the CA (30 s) is replaced when a third of its life is
 * left, the new one signs 5 s after it entered the caBundle, the old one leaves the bundle when it
 * expires; the serving certificate (20 s) is renewed on the way.
 */
const TIMING: RotationTiming = {
  caValidityMs: 30_000,
  servingValidityMs: 20_000,
  renewFraction: 1 / 3,
  caPropagationMs: 5_000,
  recheckMs: 1_000,
};
const KESTRA: ServerOptions = { labels: { app: "kestra-mcp" } };

interface Snapshot {
  at: number;
  /** Fingerprints of the CAs in the caBundle, in order. */
  bundle: string[];
  /** Fingerprint of the CA that signed the certificate the webhook serves to a new connection. */
  servedBy: string | undefined;
}

describe("e2e: webhook certificate rotation under load", () => {
  let cluster: ControlPlane;
  let operator: RunningOperator;
  let webhookConfiguration: string;
  const cas = new Map<string, X509Certificate>();

  const bundle = async (): Promise<string[]> => {
    const config = await cluster
      .client(AdmissionregistrationV1Api)
      .readMutatingWebhookConfiguration({ name: webhookConfiguration });
    return splitPemBundle(Buffer.from(config.webhooks?.[0]?.clientConfig.caBundle ?? "", "base64").toString()).map(
      (pem) => {
        const ca = new X509Certificate(pem);
        cas.set(ca.fingerprint256, ca);
        return ca.fingerprint256;
      },
    );
  };
  const servedBy = async (port: number): Promise<string | undefined> => {
    const raw = await new Promise<Buffer>((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
        resolve(socket.getPeerCertificate().raw);
        socket.end();
      });
      socket.once("error", reject);
    });
    const served = new X509Certificate(raw);
    return [...cas.values()].find((ca) => served.checkIssued(ca) && served.verify(ca.publicKey))?.fingerprint256;
  };

  before(async () => {
    cluster = await startControlPlane({ name: "e2e-certificates" });
    const installation = await installMcpWarden(cluster);
    const { names } = installation;
    webhookConfiguration = names.webhookConfiguration;
    await cluster.createNamespace("agents", { labels: { "mcpwarden.io/injection": "enabled" } });
    const [webhookPort] = (await freePorts(1)) as [number];
    operator = await startOperator({
      ...inProcessOperatorOptions(installation, { identity: "mcp-warden-operator-0", webhookPort }),
      version: "e2e",
      certificateTiming: TIMING,
      logger: pino(
        { level: "debug", base: { identity: "mcp-warden-operator-0" } },
        pino.destination({ dest: join(cluster.dir, "logs", "operator.log"), sync: true }),
      ),
    });
    await applyWebhookConfiguration(cluster, names, `https://127.0.0.1:${operator.webhookPort}/mutate-pods`);
    await cluster.kubectl(["apply", "-f", "-"], {
      input: yaml(
        mcpPolicy("kestra", "agents", { podSelector: { matchLabels: KESTRA.labels }, upstream: { profile: "kestra" } }),
      ),
    });
    await waitForInjection(cluster, "agents", serverPod("probe", KESTRA));
  });
  after(async () => {
    await operator?.stop();
    await cluster?.stop();
  });

  it("8. a new CA enters the caBundle before it signs, the old one leaves when it expires, and every admission in between succeeds", async (t) => {
    const core = cluster.client(CoreV1Api);
    const original = await bundle();
    assert.equal(original.length, 1);
    const [first] = original as [string];
    const started = performance.now();
    const timeline: Snapshot[] = [];
    let admitted = 0;
    const failures: string[] = [];
    let rotating = true;

    const creating = (async () => {
      while (rotating) {
        try {
          const pod = await core.createNamespacedPod({
            namespace: "agents",
            body: { ...serverPod("", KESTRA), metadata: { generateName: "rotation-", labels: KESTRA.labels } },
          });
          if (!pod.spec?.initContainers?.some((c) => c.name === SIDECAR_CONTAINER))
            failures.push(`${pod.metadata?.name} was created without the sidecar`);
          admitted++;
        } catch (error) {
          failures.push((error as Error).message.split("\n")[0] ?? "");
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const expiryBefore = Number(
      /mcp_warden_webhook_certificate_expiry_timestamp_seconds (\d+)/.exec(
        await operator.metrics.registry.metrics(),
      )?.[1],
    );
    try {
      // Until the bundle holds only a CA other than the first, and the webhook serves under it.
      await eventually(
        async () => {
          const snapshot = {
            at: (performance.now() - started) / 1000,
            bundle: await bundle(),
            servedBy: await servedBy(operator.webhookPort),
          };
          const last = timeline.at(-1);
          if (!last || last.bundle.join() !== snapshot.bundle.join() || last.servedBy !== snapshot.servedBy)
            timeline.push(snapshot);
          assert.equal(snapshot.bundle.length, 1);
          assert.notEqual(snapshot.bundle[0], first);
          assert.equal(snapshot.servedBy, snapshot.bundle[0]);
        },
        { timeoutMs: 120_000, intervalMs: 100 },
      );
    } finally {
      rotating = false;
      await creating;
    }

    const second = timeline.at(-1)?.bundle[0] as string;
    const described = timeline.map(
      (s) =>
        `+${s.at.toFixed(1)} s bundle [${s.bundle.map((f) => (f === first ? "old" : f === second ? "new" : "other")).join(", ")}] serving from ${s.servedBy === first ? "old" : s.servedBy === second ? "new" : "?"}`,
    );
    t.diagnostic(`rotation: ${described.join("; ")}`);
    t.diagnostic(`${admitted} pods admitted during the rotation, ${failures.length} failed`);
    assert.deepEqual(failures, [], "every admission succeeded");
    assert.ok(admitted >= 50, `pods were created throughout (${admitted})`);
    const firstTrusted = timeline.find((s) => s.bundle.includes(second))?.at as number;
    const firstServed = timeline.find((s) => s.servedBy === second)?.at as number;
    assert.ok(
      timeline.some((s) => s.bundle.join() === [first, second].join()),
      "the new CA was staged next to the old one",
    );
    assert.ok(firstServed > firstTrusted, "the new CA was trusted before it signed what the webhook serves");
    assert.ok(
      timeline.some((s) => s.bundle.join() === [second, first].join() && s.servedBy === second),
      "the old CA stayed trusted after the switch",
    );
    const expiryAfter = Number(
      /mcp_warden_webhook_certificate_expiry_timestamp_seconds (\d+)/.exec(
        await operator.metrics.registry.metrics(),
      )?.[1],
    );
    assert.ok(expiryAfter > expiryBefore, "the expiry metric follows the certificate in use");
    const pods = (await core.listNamespacedPod({ namespace: "agents", labelSelector: "app=kestra-mcp" })).items;
    assert.equal(pods.length, admitted);
  });
});
