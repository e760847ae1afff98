// What a node changes outside its own dir, and how it is put back. The kubelet sets three global
// sysctls (kernel.panic 1→10, kernel.panic_on_oops 0→1, vm.overcommit_memory 0→1) and creates a few
// hard-coded paths (/var/lib/kubelet/device-plugins, /var/log/containers, libcni's /var/lib/cni,
// containerd's /run/containerd/s). Several node clusters may run at once (test files in parallel):
// the first one saves the values and which paths existed, each one registers itself, and the last
// one to leave restores the values and removes the paths that did not exist before.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { isAlive } from "../support/process-group.ts";

export const STATE_DIR = "/run/mcp-warden-node";
export const KERNEL_SYSCTLS = ["kernel/panic", "kernel/panic_on_oops", "vm/overcommit_memory"];
export const HOST_PATHS = [
  "/var/lib/kubelet",
  "/var/log/containers",
  "/var/log/pods",
  "/var/lib/cni",
  "/run/containerd",
];

interface SavedState {
  sysctls: Record<string, string>;
  /** Paths of HOST_PATHS that did not exist before the first node. */
  created: string[];
}

const savedFile = join(STATE_DIR, "saved.json");
const usersDir = join(STATE_DIR, "users");
const lockDir = join(STATE_DIR, "lock");

/** A short critical section across processes: mkdir is atomic; a lock older than 30 s is stale. */
async function withLock<T>(action: () => T): Promise<T> {
  mkdirSync(STATE_DIR, { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      mkdirSync(lockDir);
      break;
    } catch {
      try {
        if (Date.now() - statSync(lockDir).mtimeMs > 30_000) rmSync(lockDir, { recursive: true, force: true });
      } catch {
        // released meanwhile
      }
      if (attempt > 3000) throw new Error(`${lockDir} stays locked`);
      await sleep(10);
    }
  }
  try {
    return action();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

function readSysctl(name: string): string {
  return readFileSync(join("/proc/sys", name), "utf8").trim();
}

/** Registers a node (by its dir); the first one saves the host's values. */
export async function acquireHostState(user: string): Promise<void> {
  await withLock(() => {
    mkdirSync(usersDir, { recursive: true });
    if (!existsSync(savedFile)) {
      const saved: SavedState = {
        sysctls: Object.fromEntries(KERNEL_SYSCTLS.map((name) => [name, readSysctl(name)])),
        created: HOST_PATHS.filter((path) => !existsSync(path)),
      };
      writeFileSync(savedFile, JSON.stringify(saved, null, 2));
    }
    writeFileSync(join(usersDir, user), String(process.pid));
  });
}

/**
 * Unregisters a node; when no other live node remains, restores the sysctls and removes the paths
 * the nodes created. Registrations of processes that died are dropped (a SIGKILLed test).
 */
export async function releaseHostState(user: string): Promise<void> {
  await withLock(() => {
    rmSync(join(usersDir, user), { force: true });
    let others = 0;
    for (const entry of existsSync(usersDir) ? readdirSync(usersDir) : []) {
      const pid = Number(readFileSync(join(usersDir, entry), "utf8"));
      if (isAlive(pid) && existsSync(`/tmp/${entry}`)) others++;
      else rmSync(join(usersDir, entry), { force: true });
    }
    if (others > 0 || !existsSync(savedFile)) return;
    const saved = JSON.parse(readFileSync(savedFile, "utf8")) as SavedState;
    for (const [name, value] of Object.entries(saved.sysctls)) writeFileSync(join("/proc/sys", name), value);
    for (const path of saved.created) rmSync(path, { recursive: true, force: true });
    rmSync(STATE_DIR, { recursive: true, force: true });
  });
}

/** The current values, to compare with what the first node found. */
export function currentSysctls(): Record<string, string> {
  return Object.fromEntries(KERNEL_SYSCTLS.map((name) => [name, readSysctl(name)]));
}
