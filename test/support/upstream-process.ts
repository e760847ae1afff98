// A test upstream (test/upstreams/serve.ts) in a process of its own, for faults the proxy must survive:
// `kill()` crashes it (SIGKILL: connections reset mid-answer), `restart()` brings a fresh process up on
// the same port (its sessions are gone, as after a real crash).
import type { ChildProcess } from "node:child_process";
import type { UpstreamSpec } from "../upstreams/serve.ts";
import { spawnGroup, stopGroup } from "./process-group.ts";

const SERVE = new URL("../upstreams/serve.ts", import.meta.url).pathname;

export interface UpstreamProcess {
  readonly url: string;
  readonly port: number;
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>;
  /** A new process on the same port (after `kill()`). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startUpstreamProcess(spec: UpstreamSpec): Promise<UpstreamProcess> {
  let child: ChildProcess;
  let url = "";
  const launch = async (port: number) => {
    child = spawnGroup(process.execPath, [SERVE, JSON.stringify({ ...spec, port })], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const started = child;
    url = await new Promise<string>((resolve, reject) => {
      let output = "";
      const onData = (d: Buffer) => {
        output += d.toString("utf8");
        const match = /READY (\S+)/.exec(output);
        if (match) resolve(match[1] as string);
      };
      started.stdout?.on("data", onData);
      started.stderr?.on("data", (d: Buffer) => (output += d.toString("utf8")));
      started.once("exit", (code) =>
        reject(new Error(`upstream exited (${code}) before it was ready:\n${output.slice(-2000)}`)),
      );
    });
  };
  await launch(0);
  const port = Number(new URL(url).port);
  const gone = (signal: NodeJS.Signals) => stopGroup(child, signal);
  return {
    get url() {
      return url;
    },
    port,
    kill: () => gone("SIGKILL"),
    async restart() {
      await gone("SIGKILL");
      await launch(port);
    },
    stop: () => gone("SIGTERM"),
  };
}
