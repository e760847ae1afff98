// Component processes: stopped by process group with escalation, logs per run, and killed when the
// test process ends, whether it exits or is ended by a signal.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, test } from "node:test";
import { ComponentProcess } from "./processes.ts";
import { eventually } from "../support/eventually.ts";
import { isAlive } from "../support/process-group.ts";

const dir = mkdtempSync(join(tmpdir(), "mcp-warden-processes-test-"));
const ownedComponents: number[] = [];
after(() => {
  // Should a hook under test fail, its component must not outlive this test file either.
  for (const pid of ownedComponents) if (isAlive(pid)) process.kill(pid, "SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

void test("stop() sends SIGTERM to the whole process group", { timeout: 30_000 }, async () => {
  const component = ComponentProcess.spawn({
    name: "shell",
    binary: "/bin/sh",
    args: ["-c", "sleep 60 & wait"],
    logFile: join(dir, "term.log"),
  });
  assert.equal(component.running, true);
  assert.deepEqual(await component.stop({ graceMs: 10_000 }), { code: null, signal: "SIGTERM" });
  assert.equal(component.running, false);
});

void test("stop() escalates to SIGKILL when the process ignores SIGTERM", { timeout: 30_000 }, async () => {
  const component = ComponentProcess.spawn({
    name: "stubborn",
    binary: "/bin/sh",
    args: ["-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"],
    logFile: join(dir, "stubborn.log"),
  });
  await eventually(() => assert.match(component.logSinceStart(), /ready/));
  assert.deepEqual(await component.stop({ graceMs: 200 }), { code: null, signal: "SIGKILL" });
});

void test("reads only the current run's log", { timeout: 30_000 }, async () => {
  const logFile = join(dir, "restarted.log");
  writeFileSync(logFile, "line from an earlier run\n");
  const component = ComponentProcess.spawn({
    name: "printer",
    binary: "/bin/sh",
    args: ["-c", "echo first; echo second"],
    logFile,
  });
  assert.deepEqual(await component.exited, { code: 0, signal: null });
  assert.equal(component.logSinceStart(), "first\nsecond\n");
  assert.match(component.logTail(1), /--- last 1 lines of .*restarted\.log ---\nsecond$/);
});

void test("a binary that cannot be started is an error, not a crash", { timeout: 30_000 }, async () => {
  assert.throws(
    () =>
      ComponentProcess.spawn({
        name: "missing",
        binary: join(dir, "no-such-binary"),
        args: [],
        logFile: join(dir, "missing.log"),
      }),
    /could not start missing/,
  );
  await new Promise((resolve) => setImmediate(resolve)); // the spawn's "error" event arrives now; it must be handled
});

// A separate Node process owns a component; we end that process and check the component died with it.
async function ownerWithComponent(ending: string): Promise<{ owner: ReturnType<typeof spawn>; componentPid: number }> {
  const script = `
    const { ComponentProcess } = await import(${JSON.stringify(join(import.meta.dirname, "processes.ts"))});
    const component = ComponentProcess.spawn({ name: "sleeper", binary: "/bin/sleep", args: ["60"], logFile: ${JSON.stringify(join(dir, "owned.log"))} });
    console.log(component.pid);
    ${ending}`;
  const owner = spawn(process.execPath, ["--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: owner.stdout });
  const [line] = (await once(lines, "line")) as [string];
  lines.close();
  ownedComponents.push(Number(line));
  return { owner, componentPid: Number(line) };
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  void test(`kills the components when the test process is ended by ${signal}`, { timeout: 30_000 }, async () => {
    const { owner, componentPid } = await ownerWithComponent("setInterval(() => {}, 1000);");
    assert.ok(isAlive(componentPid));
    const ended = new Promise((resolve) => owner.once("exit", (_code, received) => resolve(received)));
    owner.kill(signal);
    assert.equal(await ended, signal, "the signal still ends the process as it would have");
    await eventually(() => assert.equal(isAlive(componentPid), false), { timeoutMs: 5_000 });
  });
}

void test("kills the components when the test process exits", { timeout: 30_000 }, async () => {
  const { owner, componentPid } = await ownerWithComponent("setTimeout(() => process.exit(3), 100);");
  const code = await new Promise((resolve) => owner.once("exit", resolve));
  assert.equal(code, 3);
  await eventually(() => assert.equal(isAlive(componentPid), false), { timeoutMs: 5_000 });
});
