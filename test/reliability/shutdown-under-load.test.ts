// SIGTERM while a real sidecar process is under load: every call sent before the signal gets its full
// answer (and its audit line), calls still running finish, connections opened afterwards are refused,
// calls sent afterwards on open connections are refused cleanly (never a truncated answer), and the
// process exits 0.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { startCallLoad } from "../support/call-load.ts";
import { tally } from "../support/mcp-clients.ts";
import { KEYS } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { sidecarFiles, startSidecarProcess, type SidecarProcess } from "../support/sidecar-process.ts";
import { startControllableServer, type ControllableServer } from "../upstreams/controllable-server.ts";

const WORKERS = 48;
/** Each call takes this long upstream, so calls are in flight whenever the signal comes. */
const CALL_MS = 150;

/** How a call sent after SIGTERM may end: answered, or refused without any part of an answer. */
function refusedCleanly(r: { status: number; code?: string; connection?: string }): boolean {
  if (r.status === 0) return r.code === "ECONNREFUSED" || r.code === "UND_ERR_SOCKET" || r.code === "ECONNRESET";
  return r.status === 503 && r.connection === "close";
}

for (const answers of ["sse", "json"] as const) {
  describe(`SIGTERM under load (upstream answers ${answers})`, { timeout: 120_000 }, () => {
    let upstream: ControllableServer;
    let sidecar: SidecarProcess;
    before(async () => {
      upstream = await startControllableServer({ answers });
      const files = sidecarFiles(mcpPolicy("default: allow"));
      sidecar = await startSidecarProcess({
        policy: files.policy,
        apiKeys: files.apiKeys,
        upstream: upstream.url,
        args: ["--shutdown-grace", "20s"],
      });
    });
    after(async () => {
      await sidecar?.stop();
      await upstream?.close();
    });

    it("answers everything sent before the signal, refuses what comes after cleanly, and exits 0", async (t) => {
      const load = await startCallLoad({
        targets: [{ url: sidecar.url, key: KEYS.alice }],
        workers: WORKERS,
        call: () => ({ name: "sleep", arguments: { ms: CALL_MS } }),
      });
      const port = Number(new URL(sidecar.url).port);
      let records;
      let status;
      let refusedNew: string | undefined;
      try {
        await load.settled(WORKERS * 3);
        const settledBefore = load.records.length;
        const signalledAt = performance.now();
        sidecar.signal("SIGTERM");
        await sidecar.waitForLog((l) => l.msg === "shutting down", "shutdown to begin");
        // A new connection while calls are still finishing is refused.
        refusedNew = await new Promise<string>((resolve) => {
          const socket = connect(port, "127.0.0.1");
          socket.once("connect", () => {
            socket.destroy();
            resolve("connected");
          });
          socket.once("error", (err: NodeJS.ErrnoException) => resolve(String(err.code)));
        });
        status = await sidecar.exited;
        await sleep(50);
        records = await load.stop();
        // "Sent" is when the request's bytes were written to a connection (a call issued earlier may
        // wait for a connection, and one refused at connect was never sent at all).
        const before = records.filter((r) => r.sent !== undefined && r.sent < signalledAt);
        const afterSignal = records.filter((r) => !before.includes(r));
        t.diagnostic(
          `${before.length} calls sent before SIGTERM (${before.length - settledBefore} of them still in flight when it came), ` +
            `${afterSignal.length} not sent before it: ${JSON.stringify(tally(afterSignal.map((r) => (r.status === 0 ? String(r.code) : String(r.status)))))}`,
        );
        // The signal must have met calls in flight, or "in-flight calls finish" proves nothing: each of
        // the workers keeps one 150 ms call running back to back, so nearly all of them are; a quarter
        // leaves room for workers between two calls on a loaded machine.
        const stillInFlight = before.length - settledBefore;
        assert.ok(stillInFlight >= WORKERS / 4, `only ${stillInFlight} calls were in flight when SIGTERM came`);
        const lost = before.filter(
          (r) => r.status !== 200 || r.outcome !== "allowed" || r.text !== `slept ${CALL_MS} ms`,
        );
        assert.deepEqual(lost.slice(0, 3), [], `${lost.length} calls sent before SIGTERM got no full answer`);
        const unclean = afterSignal.filter((r) => !(r.status === 200 && r.outcome === "allowed") && !refusedCleanly(r));
        assert.deepEqual(unclean.slice(0, 3), [], `${unclean.length} calls after SIGTERM ended uncleanly`);
        const answered = records.filter((r) => r.status === 200 && r.outcome === "allowed").length;
        assert.equal(upstream.slept, answered, "every call the upstream finished was answered, and only those");
        assert.equal(
          sidecar.auditLines.filter((l) => l.tool === "sleep").length,
          answered,
          "every answered call has its audit line",
        );
      } finally {
        await load.stop().catch(() => undefined);
      }
      assert.equal(refusedNew, "ECONNREFUSED");
      assert.deepEqual(status, { code: 0, signal: null });
      assert.ok(sidecar.logLines.some((l) => l.msg === "sidecar stopped"));
      assert.equal(
        sidecar.logLines.some((l) => String(l.msg).startsWith("shutdown grace period over")),
        false,
      );
    });
  });
}
