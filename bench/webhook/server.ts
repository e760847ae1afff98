// The webhook under benchmark, in a process of its own: an injector with POLICIES McpPolicies in
// its cache (spread over NAMESPACES namespaces), or a bare HTTPS endpoint answering a fixed
// AdmissionReview (MODE=baseline) to isolate the cost of TLS and HTTP. Prints {port, ca} as JSON.
import { AdmissionHandler } from "../../operator/injector/admission.ts";
import { injectorConfig } from "../../operator/injector/config.ts";
import { createOperatorMetrics } from "../../operator/metrics.ts";
import { PolicyIndex, policyEntry } from "../../operator/policy-index.ts";
import { createCertificateAuthority, issueServingCertificate } from "../../operator/webhook/certificates.ts";
import { WebhookServer } from "../../operator/webhook/server.ts";

const policies = Number(process.env.POLICIES ?? 1000);
const namespaces = Number(process.env.NAMESPACES ?? 100);
const baseline = process.env.MODE === "baseline";

const index = new PolicyIndex();
for (let i = 0; i < policies; i++) {
  index.set(
    policyEntry({
      metadata: { name: `policy-${i}`, namespace: `ns-${i % namespaces}`, uid: `uid-${i}`, generation: 1 },
      spec: {
        podSelector: {
          matchLabels: { app: `mcp-${i}` },
          matchExpressions: [{ key: "tier", operator: "In", values: ["mcp", "agents"] }],
        },
        upstream: { profile: i % 2 === 0 ? "kestra" : "generic", port: 18000 },
        tools: [{ name: "list_flows" }, { name: "resume_execution", limits: [{ window: "minute", max: 10 }] }],
      },
    }),
  );
}
const metrics = createOperatorMetrics({ version: "bench", defaultMetrics: false });
const handler = new AdmissionHandler({
  index,
  config: injectorConfig({ sidecarImage: "ghcr.io/mcp-warden/mcp-warden:0.1.0", operatorNamespace: "mcp-warden" }),
  ready: () => true,
  metrics,
});
const fixed = {
  status: 200 as const,
  body: {
    apiVersion: "admission.k8s.io/v1" as const,
    kind: "AdmissionReview" as const,
    response: { uid: "", allowed: true },
  },
};
// Time spent deciding (in this process, excluding TLS and HTTP), reported to the client on request.
// CPU of the whole process (TLS, HTTP, JSON, decision) since the last report: load-independent.
const decisions: number[] = [];
let cpuSince = process.cpuUsage();
const served = {
  review(body: unknown) {
    const command = (body as { bench?: string }).bench;
    if (command === "stats") {
      const cpu = process.cpuUsage(cpuSince);
      cpuSince = process.cpuUsage();
      return { status: 200, body: { decisions: decisions.splice(0), cpuMicros: cpu.user + cpu.system } };
    }
    const started = performance.now();
    const answer = baseline ? fixed : handler.review(body);
    decisions.push(performance.now() - started);
    return answer;
  },
} as unknown as AdmissionHandler;

const ca = await createCertificateAuthority("bench-ca", Date.now(), 86_400_000);
const certificate = await issueServingCertificate(ca, ["127.0.0.1"], Date.now(), 86_400_000);
const server = new WebhookServer({ handler: served, host: "127.0.0.1", port: 0, certificate });
const port = await server.start();
process.stdout.write(JSON.stringify({ port, ca: ca.cert }) + "\n");
process.on("SIGTERM", () => void server.close().then(() => process.exit(0)));
