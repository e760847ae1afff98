// Real redis-server processes for tests and benchmarks: a single server or a Redis Cluster of masters,
// each on a free loopback port with its own temporary directory and no persistence. Every process runs
// in its own process group, is stopped by `stop()` and is killed when the test process exits.
import { execFile, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createConnection, createServer, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./ports.ts";
import { signalGroup, spawnGroup, stopGroup } from "./process-group.ts";

const HOST = "127.0.0.1";
const START_TIMEOUT_MS = 10_000;
const run = promisify(execFile);

export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly dir: string;
  /** Process id of the running server (changes on restart). */
  readonly pid: number;
  /** SIGSTOP: the server keeps its connections but answers nothing (a hung Redis). */
  pause(): void;
  /** SIGCONT after `pause()`. */
  resume(): void;
  /** SIGKILL, then waits for the process to be gone (a crashed Redis; its data is lost). */
  kill(): Promise<void>;
  /** Starts a new process on the same port and directory (after `kill()`), and waits until it answers. */
  restart(): Promise<void>;
  /** Runs `redis-cli` against this server and returns its output, trimmed. */
  cli(...args: string[]): Promise<string>;
  /** The server's log so far (for failure messages). */
  log(): Promise<string>;
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  /** A free port is chosen when omitted. */
  port?: number;
  /** Extra `redis-server` arguments, e.g. `["--cluster-enabled", "yes"]`. */
  args?: readonly string[];
  /** Serve TLS only (PEM files); the URL becomes `rediss://localhost:<port>`. */
  tls?: { certFile: string; keyFile: string; caFile: string };
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  if (options.port !== undefined) return startOn(options.port, options);
  return withFreshPorts(async () => startOn(await freeRedisPort(), options));
}

/** Other suites pick ports too: a port found free can be taken before redis-server binds it. */
async function withFreshPorts<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (attempt === 3 || !/Address already in use/.test((err as Error).message)) throw err;
    }
  }
}

async function startOn(port: number, options: RedisServerOptions): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), "mcp-warden-redis-"));
  const logFile = join(dir, "redis.log");
  const listen = options.tls
    ? [
        "--port",
        "0",
        "--tls-port",
        String(port),
        "--tls-cert-file",
        options.tls.certFile,
        "--tls-key-file",
        options.tls.keyFile,
        "--tls-ca-cert-file",
        options.tls.caFile,
        "--tls-auth-clients",
        "no",
      ]
    : ["--port", String(port)];
  const ca = options.tls ? await readFile(options.tls.caFile, "utf8") : undefined;
  const args = [
    ...listen,
    "--bind",
    HOST,
    "--dir",
    dir,
    "--save",
    "",
    "--appendonly",
    "no",
    "--protected-mode",
    "no",
    "--daemonize",
    "no",
    "--logfile",
    logFile,
    ...(options.args ?? []),
  ];
  let child: ChildProcess | undefined;
  let stopped = false;

  const launch = async () => {
    child = spawnGroup("redis-server", args, { stdio: "ignore" });
    const started = child;
    const failed = new Promise<never>((_, reject) => {
      started.once("error", reject);
      started.once("exit", (code, signal) =>
        reject(new Error(`redis-server on port ${port} exited (${signal ?? code}) while starting`)),
      );
    });
    try {
      await Promise.race([waitForPing(port, START_TIMEOUT_MS, ca), failed]);
    } catch (err) {
      const log = await readFile(logFile, "utf8").catch(() => "");
      signalGroup(started, "SIGKILL");
      throw new Error(`${(err as Error).message}\n${log}`, { cause: err });
    }
    failed.catch(() => {});
  };
  try {
    await launch();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  const current = (): ChildProcess => {
    if (!child || child.exitCode !== null || child.signalCode !== null)
      throw new Error(`redis-server on port ${port} is not running`);
    return child;
  };
  const kill = async () => {
    if (child) await stopGroup(child, "SIGKILL");
  };

  return {
    host: HOST,
    port,
    url: options.tls ? `rediss://localhost:${port}` : `redis://${HOST}:${port}`,
    dir,
    get pid() {
      return current().pid as number;
    },
    pause: () => signalGroup(current(), "SIGSTOP"),
    resume: () => signalGroup(current(), "SIGCONT"),
    kill,
    restart: async () => {
      await kill();
      await launch();
    },
    cli: (...cliArgs) =>
      redisCli(
        port,
        ...(options.tls ? ["--tls", "--cacert", options.tls.caFile, "--sni", "localhost"] : []),
        ...cliArgs,
      ),
    log: () => readFile(logFile, "utf8").catch(() => ""),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisCluster {
  readonly nodes: readonly RedisServer[];
  /** `redis+cluster://127.0.0.1:<p1>,127.0.0.1:<p2>,…` (the URL form the store accepts). */
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts `masters` cluster-enabled servers, joins them with `redis-cli --cluster create` (no replicas),
 * and waits until every node reports the cluster ok. */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const nodes: RedisServer[] = [];
  try {
    for (let i = 0; i < masters; i++) {
      nodes.push(
        await withFreshPorts(async () =>
          startOn(
            // The cluster bus listens on port + 10000, so both must be free.
            await freeRedisPort({ withClusterBus: true }),
            {
              args: [
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                "5000",
              ],
            },
          ),
        ),
      );
    }
    await run(
      "redis-cli",
      ["--cluster", "create", ...nodes.map((n) => `${HOST}:${n.port}`), "--cluster-replicas", "0", "--cluster-yes"],
      {
        timeout: START_TIMEOUT_MS,
      },
    );
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (const node of nodes) {
      for (;;) {
        const info = await node.cli("cluster", "info");
        if (/cluster_state:ok/.test(info) && /cluster_known_nodes:(\d+)/.exec(info)?.[1] === String(masters)) break;
        if (Date.now() > deadline) throw new Error(`cluster node ${node.port} not ready:\n${info}`);
        await sleep(50);
      }
    }
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw err;
  }
  return {
    nodes,
    url: `redis+cluster://${nodes.map((n) => `${HOST}:${n.port}`).join(",")}`,
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}

/** A loopback port nothing listens on (and, for cluster nodes, whose bus port is free too). */
async function freeRedisPort(options: { withClusterBus?: boolean } = {}): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = options.withClusterBus ? 20_000 + Math.floor(Math.random() * 30_000) : await freePort();
    if (!(await portFree(port))) continue;
    if (options.withClusterBus && !(await portFree(port + 10_000))) continue;
    return port;
  }
  throw new Error("no free loopback port found");
}

/** Resolves once `PING` on the port is answered (`+PONG`, or `-NOAUTH` from a server with a password);
 * over TLS when `ca` (PEM) is given. */
export async function waitForPing(port: number, timeoutMs: number, ca?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await ping(port, ca)) return;
    if (Date.now() > deadline)
      throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
    await sleep(20);
  }
}

export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run("redis-cli", ["-h", HOST, "-p", String(port), ...args], { timeout: 10_000 });
  return stdout.trim();
}

function ping(port: number, ca?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket: Socket = ca
      ? tlsConnect({ host: HOST, port, ca, servername: "localhost" }, () => socket.write("PING\r\n"))
      : createConnection({ host: HOST, port }, () => socket.write("PING\r\n"));
    let answer = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("error", () => done(false));
    socket.on("data", (chunk: Buffer) => {
      answer += chunk.toString();
      if (answer.includes("\r\n")) done(answer.startsWith("+PONG") || answer.startsWith("-NOAUTH"));
    });
  });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
