// The processes the proxy benchmark runs side by side: the upstream, the sidecar (the real CLI), nginx
// as a plain reverse proxy, ToolHive's proxy with Cedar authorization, and the load generator.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_SIDECAR_RESOURCES } from "../../operator/injector/config.ts";
import { heapEnv } from "../../operator/injector/heap.ts";
import { freePort } from "../../test/support/ports.ts";
import { imageTree } from "./image-tree.ts";

const here = new URL(".", import.meta.url).pathname;
/** How long a process may take to say it is ready (1,000 sessions through a loaded proxy included). */
const READY_TIMEOUT_MS = 120_000;

export interface Running {
  child: ChildProcess;
  stop(): Promise<void>;
}

function start(
  command: string,
  args: string[],
  ready: RegExp | undefined,
  stdout: "pipe" | "ignore" = "pipe",
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ running: Running; match: RegExpMatchArray | undefined }> {
  const child = spawn(command, args, { detached: true, stdio: ["ignore", stdout, "pipe"], env });
  let output = "";
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    try {
      process.kill(-(child.pid as number), "SIGTERM");
    } catch {
      return;
    }
    await exited;
  };
  return new Promise((resolve, reject) => {
    const timer = ready
      ? setTimeout(() => {
          reject(new Error(`${command} was not ready after ${READY_TIMEOUT_MS / 1000} s:\n${output.slice(-2000)}`));
          void stop();
        }, READY_TIMEOUT_MS)
      : setTimeout(() => resolve({ running: { child, stop }, match: undefined }), 300);
    const check = (d: Buffer) => {
      output += d.toString();
      const match = ready?.exec(output);
      if (!match) return;
      clearTimeout(timer);
      resolve({ running: { child, stop }, match });
    };
    child.stdout?.on("data", check);
    child.stderr?.on("data", check);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited (${code}) before it was ready:\n${output.slice(-2000)}`));
    });
  });
}

export async function startUpstream(): Promise<Running & { url: string }> {
  const { running, match } = await start(process.execPath, [join(here, "upstream.ts")], /READY (\S+)/);
  return { ...running, url: (match as RegExpMatchArray)[1] as string };
}

/** The lean upstream (bench/proxy/lean-upstream.ts): fixed answers, nothing kept per call. */
export async function startLeanUpstream(): Promise<Running & { url: string }> {
  const { running, match } = await start(process.execPath, [join(here, "lean-upstream.ts")], /READY (\S+)/);
  return { ...running, url: (match as RegExpMatchArray)[1] as string };
}

/**
 * The sidecar compiled from this tree, or from `source` (a baseline commit's tree), started as the
 * image starts it: the ENTRYPOINT's Node flags, the runtime stage's ENV and the old-space cap the
 * injector derives from the default memory limit (NODE_OPTIONS). `nodeFlags` replaces the
 * ENTRYPOINT's flags (a variant of the V8 settings measured next to the image's own; flags on the
 * command line win over NODE_OPTIONS, so a variant cannot be given that way).
 */
export async function startSidecar(
  policyFile: string,
  keysFile: string,
  upstream: string,
  source?: string,
  nodeFlags?: readonly string[],
): Promise<Running & { url: string }> {
  const [port, admin] = [await freePort(), await freePort()];
  const image = imageTree(source);
  const args = [
    ...(nodeFlags ?? image.nodeFlags),
    image.cli,
    "sidecar",
    "--policy",
    policyFile,
    "--api-keys",
    keysFile,
    "--upstream",
    upstream,
    "--listen",
    `127.0.0.1:${port}`,
    "--admin-listen",
    `127.0.0.1:${admin}`,
    "--max-sessions",
    "20000",
    "--log-level",
    "warn",
  ];
  const heap = heapEnv(DEFAULT_SIDECAR_RESOURCES);
  const env = { ...process.env, ...image.env, ...(heap?.value ? { [heap.name]: heap.value } : {}) };
  // Audit lines (stdout) are written as in production, to /dev/null here.
  const { running } = await start(process.execPath, args, undefined, "ignore", env);
  await waitForReady(`http://127.0.0.1:${admin}/readyz`);
  return { ...running, url: `http://127.0.0.1:${port}${new URL(upstream).pathname}` };
}

/** The Node baseline: a bare node:http + undici passthrough. */
export async function startNodePassthrough(upstream: string): Promise<Running & { url: string }> {
  const port = await freePort();
  // Compiled and started like the sidecar, so the two differ only in what they do per call.
  const image = imageTree();
  const { running } = await start(
    process.execPath,
    [...image.nodeFlags, image.passthrough, upstream, String(port)],
    /READY/,
  );
  return { ...running, url: `http://127.0.0.1:${port}${new URL(upstream).pathname}` };
}

/** ToolHive's proxy (bench/proxy/toolhive), built or found in the cache by its build script. */
export function toolHiveBinary(): string {
  const out = execFileSync("bash", [join(here, "toolhive/build.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  return out.trim().split("\n").at(-1) as string;
}

/**
 * ToolHive's proxy runner in front of `upstream`, Cedar permitting tools/call of `allow` only. Its
 * configuration and state go to `dir` (HOME and the XDG folders), never to the user's.
 */
export async function startToolHive(
  dir: string,
  upstream: string,
  allow: readonly string[],
): Promise<Running & { url: string }> {
  const port = await freePort();
  const home = join(dir, "toolhive-home");
  mkdirSync(home, { recursive: true });
  const env = {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, "config"),
    XDG_STATE_HOME: join(home, "state"),
    XDG_DATA_HOME: join(home, "data"),
    XDG_CACHE_HOME: join(home, "cache"),
  };
  const args = ["-upstream", upstream, "-port", String(port), "-allow", allow.join(",")];
  const { running } = await start(toolHiveBinary(), args, undefined, "ignore", env);
  const url = `http://127.0.0.1:${port}${new URL(upstream).pathname}`;
  await waitForMcp(url);
  return { ...running, url };
}

export const NGINX = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((p) => existsSync(p));

/** nginx as a plain reverse proxy in front of the upstream: one worker (the sidecar is one thread), keep-alive, no buffering. */
export async function startNginx(dir: string, upstream: string): Promise<Running & { url: string }> {
  if (!NGINX) throw new Error("nginx is not installed: run bash bench/proxy/setup.sh");
  const port = await freePort();
  const target = new URL(upstream);
  mkdirSync(join(dir, "nginx-temp"), { recursive: true });
  const temp = join(dir, "nginx-temp");
  writeFileSync(
    join(dir, "nginx.conf"),
    `worker_processes 1;
daemon off;
pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "nginx-error.log")} warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${temp}/body; proxy_temp_path ${temp}/proxy; fastcgi_temp_path ${temp}/fastcgi; uwsgi_temp_path ${temp}/uwsgi; scgi_temp_path ${temp}/scgi;
  upstream mcp { server ${target.host}; keepalive 256; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://mcp;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 1h;
    }
  }
}
`,
  );
  const { running } = await start(NGINX, ["-c", join(dir, "nginx.conf"), "-p", dir], undefined);
  return { ...running, url: `http://127.0.0.1:${port}${target.pathname}` };
}

/** Until the proxy answers an initialize (ToolHive has no readiness endpoint of its own). */
async function waitForMcp(url: string): Promise<void> {
  const body = JSON.stringify({
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "bench", version: "1" } },
  });
  for (let i = 0; i < 400; i++) {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body,
    }).catch(() => undefined);
    if (res?.status === 200) {
      await fetch(url, {
        method: "DELETE",
        headers: { "mcp-session-id": res.headers.get("mcp-session-id") ?? "" },
      }).catch(() => undefined);
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} never answered an initialize`);
}

async function waitForReady(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await fetch(url).catch(() => undefined))?.status === 200) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} never became ready`);
}

export interface LoadResult {
  calls: number;
  total: number;
  errors: number;
  throughput: number;
  p50: number;
  p90: number;
  p99: number;
  /** The load generator's own CPU seconds per 1,000 measured calls. */
  clientCpuPer1000: number;
}

export function runLoad(config: Record<string, unknown>): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, "load.ts"), JSON.stringify(config)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("exit", (code) =>
      code === 0
        ? resolve(JSON.parse(out) as LoadResult)
        : reject(new Error(`load generator failed (${code}): ${err.slice(-2000)}`)),
    );
  });
}

/** Opens `sessions` sessions with their GET streams and keeps them until stopped. */
export function holdSessions(config: Record<string, unknown>): Promise<Running> {
  return start(
    process.execPath,
    [join(here, "load.ts"), JSON.stringify({ ...config, hold: true })],
    /HOLDING \d+/,
  ).then((r) => r.running);
}
