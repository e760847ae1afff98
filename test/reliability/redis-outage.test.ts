// Redis crashes (SIGKILL) while real sidecar processes are under load, and comes back: every call is
// still answered within the store's timeout (HTTP 200, never a 5xx or a hang), limited calls fail
// closed with a [RATE LIMITED] answer saying the limit store is unavailable, the store-error counter
// rises by exactly the refusals, readiness stays up, every sidecar decides again within 2 s of Redis
// returning, and the counters agree afterwards. With `failMode: open` the same outage allows and counts.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { startCallLoad, type CallRecord } from "../support/call-load.ts";
import { startRedisServer, type RedisServer } from "../support/redis.ts";
import { KEYS } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { sidecarFiles, startSidecarProcess, type SidecarProcess } from "../support/sidecar-process.ts";
import { startKestraDouble, type KestraDouble } from "../upstreams/kestra-double.ts";
import { eventually } from "../support/eventually.ts";

const TIMEOUT_MS = 250;
/** A call must settle within the store's timeout; the margin absorbs HTTP and a busy 2-CPU machine. */
const ANSWER_BOUND_MS = TIMEOUT_MS + 1_250;
const RECOVERY_BOUND_MS = 2_000;
const LIMITED_MAX = 20;
const OUTAGE_MS = 1_500;

const policy = (failMode: "closed" | "open", prefix: string) =>
  mcpPolicy(`
default: deny
rateLimit: {store: redis, redis: {secretRef: {name: redis, key: url}, keyPrefix: "${prefix}", timeoutMs: ${TIMEOUT_MS}}, failMode: ${failMode}}
tools:
  - name: list_namespaces
    limits: [{counter: steady, window: hour, max: 1000000, scope: global}]
  - name: resume_execution
    limits: [{counter: limited, window: hour, max: ${LIMITED_MAX}, scope: global}]`);

/** Two of three calls go to the high budget, one to the small one. */
const mix = (n: number) =>
  n % 3 === 2 ? { name: "resume_execution", arguments: {} } : { name: "list_namespaces", arguments: {} };

interface Phases {
  killedAt: number;
  restartedAt: number;
  readiness: number[];
}

/**
 * Runs load until the small budget is spent, then crashes Redis (SIGKILL; restarted empty) or hangs it
 * (SIGSTOP; resumed with its data), polls readiness through the outage, brings Redis back, and runs on
 * until every target decided again.
 */
async function outage(
  redis: RedisServer,
  sidecars: SidecarProcess[],
  records: () => CallRecord[],
  fault: "kill" | "hang" = "kill",
): Promise<Phases> {
  await eventually(
    () => records().some((r) => r.tool === "resume_execution" && r.reason === "limit_exceeded"),
    "the small budget to be spent",
    30_000,
  );
  const killedAt = performance.now();
  if (fault === "kill") await redis.kill();
  else redis.pause();
  const readiness: number[] = [];
  const until = performance.now() + OUTAGE_MS;
  while (performance.now() < until) {
    readiness.push(...(await Promise.all(sidecars.map((s) => s.readiness()))));
    await sleep(100);
  }
  if (fault === "kill") await redis.restart();
  else redis.resume();
  const restartedAt = performance.now();
  await eventually(
    () =>
      sidecars.every((_, i) =>
        records().some(
          (r) => r.target === i && r.started >= restartedAt && r.tool === "list_namespaces" && r.outcome === "allowed",
        ),
      ),
    "every sidecar to decide again",
    10_000,
  );
  await sleep(300);
  return { killedAt, restartedAt, readiness };
}

function assertAnsweredInTime(records: CallRecord[]): number {
  const failed = records.filter((r) => r.status !== 200 || r.outcome === "failed" || r.outcome === "error");
  assert.deepEqual(failed.slice(0, 5), [], `${failed.length} calls got no clean answer`);
  const slowest = Math.max(...records.map((r) => r.settled - r.started));
  assert.ok(slowest <= ANSWER_BOUND_MS, `the slowest call took ${slowest.toFixed(0)} ms`);
  return slowest;
}

/** Per sidecar: when its first call sent after the restart was allowed, in ms after the restart. */
function recoveries(records: CallRecord[], targets: number, restartedAt: number): number[] {
  return Array.from({ length: targets }, (_, i) => {
    const first = records.find(
      (r) => r.target === i && r.started >= restartedAt && r.outcome === "allowed" && r.tool === "list_namespaces",
    );
    return first ? first.settled - restartedAt : Infinity;
  });
}

async function zcard(redis: RedisServer, prefix: string, counter: string): Promise<number> {
  const keys = (await redis.cli("--scan", "--pattern", `${prefix}*${counter}*`)).split("\n").filter(Boolean);
  assert.ok(keys.length <= 1, keys.join(", "));
  return keys[0] ? Number(await redis.cli("zcard", keys[0])) : 0;
}

describe("Redis killed under load through three sidecar processes (failMode: closed)", { timeout: 180_000 }, () => {
  const prefix = "outage-closed:";
  let redis: RedisServer;
  let upstream: KestraDouble;
  let sidecars: SidecarProcess[] = [];

  before(async () => {
    [redis, upstream] = await Promise.all([startRedisServer(), startKestraDouble()]);
    const files = sidecarFiles(policy("closed", prefix));
    sidecars = await Promise.all(
      [0, 1, 2].map(() =>
        startSidecarProcess({
          policy: files.policy,
          apiKeys: files.apiKeys,
          upstream: upstream.url,
          env: { MCP_WARDEN_REDIS_URL: redis.url },
        }),
      ),
    );
  });
  after(async () => {
    await Promise.all(sidecars.map((s) => s.stop()));
    await upstream?.close();
    await redis?.stop();
  });

  it("answers every call in time, fails closed, stays ready, recovers within 2 s and keeps counters consistent", async (t) => {
    const load = await startCallLoad({
      targets: sidecars.map((s) => ({ url: s.url, key: KEYS.alice })),
      workers: 4,
      call: mix,
    });
    let phases: Phases;
    try {
      phases = await outage(redis, sidecars, () => load.records);
    } finally {
      await load.stop();
    }
    const { records } = load;
    const { killedAt, restartedAt } = phases;
    const slowest = assertAnsweredInTime(records);
    assert.deepEqual([...new Set(phases.readiness)], [200], "readiness stayed up through the outage");

    // During the outage: nothing limited passed; every refusal says why.
    const during = records.filter((r) => r.started >= killedAt + 50 && r.settled <= restartedAt);
    assert.ok(during.length >= 10, `${during.length} calls during the outage`);
    assert.deepEqual([...new Set(during.map((r) => `${r.outcome}/${r.reason}`))], ["rate_limited/store_unavailable"]);
    for (const r of during)
      assert.match(
        r.text,
        /^\[RATE LIMITED\] The rate-limit store is unavailable, so '\w+' cannot be counted and is refused \((no connection to Redis|the connection to Redis was lost)\)\. Retry in a few seconds\.$/,
      );

    const recovered = recoveries(records, sidecars.length, restartedAt);
    assert.ok(
      recovered.every((ms) => ms <= RECOVERY_BOUND_MS),
      `recovered ${recovered.map((ms) => ms.toFixed(0)).join(", ")} ms after Redis returned`,
    );

    // Each sidecar's counters agree with its clients: every refusal counted once as a store error.
    for (const [i, sidecar] of sidecars.entries()) {
      const mine = records.filter((r) => r.target === i);
      const unavailable = mine.filter((r) => r.reason === "store_unavailable").length;
      assert.ok(unavailable > 0, `sidecar ${i} refused calls during the outage`);
      assert.equal(
        await sidecar.metricSum("mcp_warden_rate_limit_store_errors_total", { store: "redis" }),
        unavailable,
        `sidecar ${i}: store errors`,
      );
      assert.equal(
        await sidecar.metricSum("mcp_warden_tool_calls_total", {
          decision: "rate_limited",
          reason: "store_unavailable",
        }),
        unavailable,
      );
      assert.equal(
        await sidecar.metricSum("mcp_warden_tool_calls_total"),
        mine.length,
        `sidecar ${i}: every call counted once`,
      );
      await eventually(() => sidecar.auditLines.length === mine.length, `sidecar ${i}'s audit lines`);
      assert.equal(
        sidecar.auditLines.filter((l) => l.reason === "store_unavailable" && l.forwarded === false).length,
        unavailable,
      );
    }

    // Redis restarted empty (no persistence): after it, exactly the admissions the clients saw, and
    // the small budget admits exactly its max again.
    // (Counted from the kill: a call sent just before the restart finished may be decided after it.)
    const allowedAfter = (tool: string) =>
      records.filter((r) => r.tool === tool && r.started >= killedAt && r.outcome === "allowed").length;
    assert.equal(await zcard(redis, prefix, "steady"), allowedAfter("list_namespaces"));
    assert.equal(
      records.filter((r) => r.tool === "resume_execution" && r.started < killedAt && r.outcome === "allowed").length,
      LIMITED_MAX,
    );
    const limitedAfter = allowedAfter("resume_execution");
    assert.equal(await zcard(redis, prefix, "limited"), limitedAfter);
    assert.ok(limitedAfter <= LIMITED_MAX);
    const upstreamSaw = upstream.executions("resume_execution");
    assert.equal(
      upstreamSaw,
      records.filter((r) => r.tool === "resume_execution" && r.outcome === "allowed").length,
      "the upstream saw exactly the allowed calls",
    );
    t.diagnostic(
      `${records.length} calls, ${during.length} during the ${OUTAGE_MS} ms outage (all refused); slowest answer ${slowest.toFixed(0)} ms; ` +
        `recovered ${recovered.map((ms) => ms.toFixed(0)).join(", ")} ms after Redis returned`,
    );
  });

  it("answers within the timeout while Redis hangs (SIGSTOP), and never admits more than the budget", async (t) => {
    const before = await Promise.all(sidecars.map((s) => s.metricSum("mcp_warden_rate_limit_store_errors_total")));
    const load = await startCallLoad({
      targets: sidecars.map((s) => ({ url: s.url, key: KEYS.bob })),
      workers: 4,
      call: mix,
    });
    let phases: Phases;
    try {
      phases = await outage(redis, sidecars, () => load.records, "hang");
    } finally {
      await load.stop();
    }
    const { records } = load;
    const slowest = assertAnsweredInTime(records);
    assert.deepEqual([...new Set(phases.readiness)], [200]);
    const during = records.filter((r) => r.started >= phases.killedAt + 50 && r.settled <= phases.restartedAt);
    assert.ok(during.length >= 5, `${during.length} calls during the hang`);
    assert.deepEqual([...new Set(during.map((r) => `${r.outcome}/${r.reason}`))], ["rate_limited/store_unavailable"]);
    // The first calls wait out the timeout (or see the silent connection dropped); later ones are refused at once.
    for (const r of during)
      assert.match(
        r.text,
        /is refused \((Redis did not answer within 250 ms|the connection to Redis was lost|no connection to Redis)\)/,
      );
    const recovered = recoveries(records, sidecars.length, phases.restartedAt);
    assert.ok(
      recovered.every((ms) => ms <= RECOVERY_BOUND_MS),
      `recovered ${recovered.map((ms) => ms.toFixed(0)).join(", ")} ms after SIGCONT`,
    );
    for (const [i, sidecar] of sidecars.entries()) {
      const unavailable = records.filter((r) => r.target === i && r.reason === "store_unavailable").length;
      assert.equal(
        (await sidecar.metricSum("mcp_warden_rate_limit_store_errors_total")) - (before[i] as number),
        unavailable,
        `sidecar ${i}: store errors`,
      );
    }
    // Redis kept its data: the small budget never holds more than its max, whatever was in flight.
    assert.equal(await zcard(redis, prefix, "limited"), LIMITED_MAX);
    t.diagnostic(
      `${records.length} calls, ${during.length} during the ${OUTAGE_MS} ms hang (all refused); slowest answer ${slowest.toFixed(0)} ms; recovered ${recovered.map((ms) => ms.toFixed(0)).join(", ")} ms after SIGCONT`,
    );
  });
});

describe("Redis killed under load through a sidecar process (failMode: open)", { timeout: 120_000 }, () => {
  const prefix = "outage-open:";
  let redis: RedisServer;
  let upstream: KestraDouble;
  let sidecar: SidecarProcess;

  before(async () => {
    [redis, upstream] = await Promise.all([startRedisServer(), startKestraDouble()]);
    const files = sidecarFiles(policy("open", prefix));
    sidecar = await startSidecarProcess({
      policy: files.policy,
      apiKeys: files.apiKeys,
      upstream: upstream.url,
      env: { MCP_WARDEN_REDIS_URL: redis.url },
    });
  });
  after(async () => {
    await sidecar?.stop();
    await upstream?.close();
    await redis?.stop();
  });

  it("allows limited calls while Redis is gone, and counts each as a store error", async (t) => {
    const load = await startCallLoad({ targets: [{ url: sidecar.url, key: KEYS.alice }], workers: 6, call: mix });
    let phases: Phases;
    try {
      phases = await outage(redis, [sidecar], () => load.records);
    } finally {
      await load.stop();
    }
    const { records } = load;
    const slowest = assertAnsweredInTime(records);
    assert.deepEqual([...new Set(phases.readiness)], [200]);
    const during = records.filter((r) => r.started >= phases.killedAt + 50 && r.settled <= phases.restartedAt);
    assert.ok(during.length >= 10, `${during.length} calls during the outage`);
    assert.deepEqual(
      [...new Set(during.map((r) => r.outcome))],
      ["allowed"],
      "fail open: the upstream answered every call",
    );
    assert.ok(
      during.some((r) => r.tool === "resume_execution"),
      "calls past the small budget's max went through",
    );

    await eventually(() => sidecar.auditLines.length === records.length, "the audit lines");
    const openedAudit = sidecar.auditLines.filter(
      (l) => l.decision === "allowed" && l.reason === "store_unavailable" && l.forwarded === true,
    );
    assert.ok(openedAudit.length >= during.length);
    assert.equal(
      await sidecar.metricSum("mcp_warden_tool_calls_total", { decision: "allowed", reason: "store_unavailable" }),
      openedAudit.length,
    );
    assert.equal(
      await sidecar.metricSum("mcp_warden_rate_limit_store_errors_total", { store: "redis" }),
      openedAudit.length,
    );
    const allowedLimited = records.filter((r) => r.tool === "resume_execution" && r.outcome === "allowed").length;
    assert.ok(
      allowedLimited > LIMITED_MAX,
      `${allowedLimited} resume_execution calls allowed in all, more than the budget's ${LIMITED_MAX}`,
    );
    assert.equal(upstream.executions("resume_execution"), allowedLimited);
    const recovered = recoveries(records, 1, phases.restartedAt)[0] as number;
    assert.ok(recovered <= RECOVERY_BOUND_MS, `recovered ${recovered.toFixed(0)} ms after Redis returned`);
    t.diagnostic(
      `${records.length} calls, ${during.length} during the outage (all allowed, ${openedAudit.length} counted as store errors); slowest ${slowest.toFixed(0)} ms; recovered ${recovered.toFixed(0)} ms after Redis returned`,
    );
  });
});
