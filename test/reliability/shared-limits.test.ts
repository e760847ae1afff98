// One budget across replicas: three real sidecar processes (the CLI) share one real redis-server, and
// then a real 3-master Redis Cluster. 300 concurrent calls from two callers spread over the three
// sidecars, limit 25 per minute per grant: exactly 25 pass for each caller, the upstream sees exactly
// those, and every sidecar's metrics and audit lines agree with what its clients saw.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { connectClient, outcomeOf, tally, type SeenOutcome } from "../support/mcp-clients.ts";
import { startRedisCluster, startRedisServer, type RedisServer } from "../support/redis.ts";
import { KEYS } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { sidecarFiles, startSidecarProcess, type SidecarProcess } from "../support/sidecar-process.ts";
import { startKestraDouble, type KestraDouble } from "../upstreams/kestra-double.ts";
import { eventually } from "../support/eventually.ts";

const LIMIT = 25;
const CALLS = 300;
const GRANTS = ["alice", "bob"] as const;
const KEY_PREFIX = "shared-limits:";

const POLICY = mcpPolicy(`
default: deny
rateLimit: {store: redis, redis: {secretRef: {name: redis, key: url}, keyPrefix: "${KEY_PREFIX}", timeoutMs: 1000}, failMode: closed}
tools:
  - name: resume_execution
    limits: [{counter: resume, window: minute, max: ${LIMIT}, scope: grant}]`);

interface Seen {
  sidecar: number;
  grant: (typeof GRANTS)[number];
  outcome: SeenOutcome;
}

for (const kind of ["redis-server", "3-master Redis Cluster"] as const) {
  describe(`three sidecar processes sharing one ${kind}`, { timeout: 180_000 }, () => {
    let upstream: KestraDouble;
    let sidecars: SidecarProcess[] = [];
    let nodes: readonly RedisServer[] = [];
    let stopRedis: () => Promise<void>;
    const clients: Client[] = [];

    before(async () => {
      upstream = await startKestraDouble();
      let url: string;
      if (kind === "redis-server") {
        const server = await startRedisServer();
        [url, nodes, stopRedis] = [server.url, [server], () => server.stop()];
      } else {
        const cluster = await startRedisCluster(3);
        [url, nodes, stopRedis] = [cluster.url, cluster.nodes, () => cluster.stop()];
      }
      const files = sidecarFiles(POLICY);
      // The URL arrives as the injector passes a Secret's key: MCP_WARDEN_REDIS_URL.
      sidecars = await Promise.all(
        [0, 1, 2].map(() =>
          startSidecarProcess({
            policy: files.policy,
            apiKeys: files.apiKeys,
            upstream: upstream.url,
            env: { MCP_WARDEN_REDIS_URL: url },
          }),
        ),
      );
    });
    after(async () => {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await Promise.all(sidecars.map((s) => s.stop()));
      await upstream?.close();
      await stopRedis?.();
    });

    it(`admits exactly ${LIMIT} of ${CALLS / 2} concurrent calls per caller, and metrics and audit lines agree`, async (t) => {
      // One session per caller per sidecar, 50 calls in flight on each: 300 at once.
      const sessions = await Promise.all(
        sidecars.flatMap((s, i) =>
          GRANTS.map(async (grant) => ({
            sidecar: i,
            grant,
            client: await connectClient(s.url, KEYS[grant], `${grant}-${i}`),
          })),
        ),
      );
      clients.push(...sessions.map((s) => s.client));
      const perSession = CALLS / sessions.length;
      // Issued round-robin over the sessions, so the three sidecars race for the same budgets. Each
      // sidecar gets 50 calls per caller: without a shared budget each would admit 25 of them.
      const seen: Seen[] = await Promise.all(
        Array.from({ length: perSession }, (_, n) => n).flatMap((n) =>
          sessions.map(async ({ sidecar, grant, client }) => {
            const result = await client.callTool({
              name: "resume_execution",
              arguments: { execution_ids: [`${grant}-${sidecar}-${n}`] },
            });
            return { sidecar, grant, outcome: outcomeOf(result) };
          }),
        ),
      );

      for (const grant of GRANTS) {
        const mine = seen.filter((s) => s.grant === grant);
        assert.deepEqual(tally(mine.map((s) => s.outcome)), { allowed: LIMIT, rate_limited: CALLS / 2 - LIMIT }, grant);
        const reached = upstream.calls.filter(
          (c) =>
            c.tool === "resume_execution" && String((c.arguments.execution_ids as string[])[0]).startsWith(`${grant}-`),
        );
        assert.equal(reached.length, LIMIT, `calls of ${grant} that reached the upstream`);
      }
      assert.equal(upstream.calls.filter((c) => c.tool === "resume_execution").length, 2 * LIMIT);

      // Each sidecar's metrics and audit lines say what its own clients saw.
      for (const [i, sidecar] of sidecars.entries()) {
        const mine = seen.filter((s) => s.sidecar === i);
        const expected = {
          allowed: mine.filter((s) => s.outcome === "allowed").length,
          rate_limited: mine.filter((s) => s.outcome === "rate_limited").length,
        };
        for (const decision of ["allowed", "rate_limited"] as const) {
          const labels = {
            tool: "resume_execution",
            decision,
            reason: decision === "allowed" ? "rule_allowed" : "limit_exceeded",
          };
          assert.equal(
            await sidecar.metricSum("mcp_warden_tool_calls_total", labels),
            expected[decision],
            `sidecar ${i}: ${decision} in tool_calls_total`,
          );
        }
        assert.equal(
          await sidecar.metricSum("mcp_warden_rate_limit_store_errors_total"),
          0,
          `sidecar ${i}: no store errors`,
        );
        await eventually(
          () => sidecar.auditLines.filter((l) => l.tool === "resume_execution").length === perSession * GRANTS.length,
          `sidecar ${i}'s audit lines`,
        );
        for (const grant of GRANTS) {
          const lines = sidecar.auditLines.filter(
            (l) => l.tool === "resume_execution" && (l.caller as { grant: string }).grant === `apikey:${grant}`,
          );
          const clientView = tally(mine.filter((s) => s.grant === grant).map((s) => s.outcome));
          assert.deepEqual(
            tally(lines.map((l) => String(l.decision))),
            clientView,
            `sidecar ${i}, ${grant}: audit lines`,
          );
          assert.ok(
            lines
              .filter((l) => l.decision === "allowed")
              .every((l) => l.forwarded === true && l.upstreamOutcome === "ok" && l.refunded === false),
          );
          assert.ok(
            lines
              .filter((l) => l.decision === "rate_limited")
              .every((l) => l.forwarded === false && l.reason === "limit_exceeded"),
          );
        }
      }

      // Redis holds exactly the admissions: one budget per caller, each with 25 entries.
      const budgets = new Map<string, number>();
      const holders: string[] = [];
      for (const node of nodes) {
        const keys = (await node.cli("--scan", "--pattern", `${KEY_PREFIX}*`)).split("\n").filter(Boolean);
        for (const key of keys) budgets.set(key, Number(await node.cli("zcard", key)));
        for (const key of keys) holders.push(`${key} on :${node.port}`);
      }
      assert.deepEqual([...budgets.values()], [LIMIT, LIMIT], JSON.stringify([...budgets]));
      for (const grant of GRANTS)
        assert.ok(
          [...budgets.keys()].some((k) => k.includes(`{apikey:${grant}}`) && k.endsWith(`|grant|apikey:${grant}`)),
          `a budget for ${grant}`,
        );
      const perSidecar = sidecars.map((_, i) =>
        tally(seen.filter((s) => s.sidecar === i && s.outcome === "allowed").map((s) => s.grant)),
      );
      t.diagnostic(`admitted per sidecar: ${JSON.stringify(perSidecar)}; budgets: ${holders.join(", ")}`);
    });
  });
}
