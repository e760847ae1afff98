// The Kestra test server on the real FastMCP (test/python/kestra), started with exactly the command the
// injector's "kestra" profile gives the Kestra container (`fastmcp run src/server.py:mcp --transport
// http --host 127.0.0.1 --port N`), from test/python/kestra as the image's working directory, with the
// pinned virtualenv's `fastmcp` first on PATH.
//
//   const kestra = await startKestraFastMcp();   // kestra.url → http://127.0.0.1:PORT/mcp
//   await kestra.calls()                         // the tool calls that reached FastMCP, with their results
//   await kestra.probes()                        // the sidecar's own calls of a tool that cannot exist
//   await kestra.reset()                         // initial Kestra state, empty call record
//   await kestra.kestraFault({ status: 503 })    // Kestra's API fails (or { unreachable: true }; {} ends it)
//   await kestra.stop();
import { dirname, join } from "node:path";
import { KESTRA_FASTMCP_ENV } from "../../operator/injector/kestra-env.ts";
import { kestraServerCommand } from "../../operator/injector/mutate.ts";
import { PROBE_PREFIX } from "../../sidecar/enforcement/missing-tool-answer.ts";
import { PYTHON_DIR, startPeer, venvPython, type Peer } from "../support/processes.ts";
import { freePort } from "../support/ports.ts";

export const KESTRA_SERVER_DIR = join(PYTHON_DIR, "kestra");

export interface FastMcpCall {
  tool: string;
  arguments: Record<string, unknown>;
  /** The Mcp-Session-Id the request carried. */
  session: string | null;
  /** The Authorization header FastMCP received (a proxy must never pass the caller's on). */
  authorization: string | null;
  /** What the tool returned (FastMCP sends it as the result), or the error it raised (an isError result). */
  result?: { content: { type: string; text?: string }[]; structuredContent: Record<string, unknown> | null };
  error?: string;
}

export interface KestraFastMcp {
  readonly url: string;
  readonly port: number;
  /** The command line it was started with (the injector's, with the port). */
  readonly command: string[];
  readonly peer: Peer;
  /** Agents' calls (the sidecar's probes left out: see probes()). */
  calls(): Promise<FastMcpCall[]>;
  /** The sidecar's own calls of a tool that cannot exist (it learns how a missing tool is answered). */
  probes(): Promise<FastMcpCall[]>;
  reset(): Promise<void>;
  /** Makes Kestra's API fail (an HTTP error status, or unreachable) for every call until cleared ({}). */
  kestraFault(fault: { status: number } | { unreachable: true } | Record<string, never>): Promise<void>;
  stop(): Promise<void>;
}

export interface KestraFastMcpOptions {
  /** A port to listen on (a restart on the same port); default a free one. */
  port?: number;
  /** Tool descriptions to list instead of the declared ones (test/python/kestra/src/definitions.py). */
  descriptions?: Record<string, string>;
  /** More environment for FastMCP, e.g. FASTMCP_JSON_RESPONSE=true for JSON answers instead of SSE. */
  readonly env?: Readonly<Record<string, string>>;
}

export async function startKestraFastMcp(options: KestraFastMcpOptions = {}): Promise<KestraFastMcp> {
  const bin = dirname(venvPython());
  // A port found free can be taken before uvicorn binds it (other suites run in parallel): try again.
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    const [command, ...args] = kestraServerCommand(port) as [string, ...string[]];
    const peer = startPeer(join(bin, command), args, {
      cwd: KESTRA_SERVER_DIR,
      // The environment the injector gives the Kestra container, as it would be in the pod.
      env: {
        PATH: `${bin}:${process.env.PATH ?? ""}`,
        ...Object.fromEntries(KESTRA_FASTMCP_ENV.map((e) => [e.name, e.value])),
        PYTHONDONTWRITEBYTECODE: "1",
        ...(options.descriptions ? { KESTRA_TEST_DESCRIPTIONS: JSON.stringify(options.descriptions) } : {}),
        ...options.env,
      },
    });
    try {
      await peer.waitFor(/Uvicorn running on http:\/\/127\.0\.0\.1:\d+/, 60_000);
    } catch (error) {
      await peer.stop();
      if (attempt < 3 && options.port === undefined && /address already in use/i.test(peer.output())) continue;
      throw error;
    }
    const base = `http://127.0.0.1:${port}`;
    const record = async () => (await (await fetch(`${base}/_test/calls`)).json()) as FastMcpCall[];
    return {
      url: `${base}/mcp`,
      port,
      command: [command, ...args],
      peer,
      async calls() {
        return (await record()).filter((c) => !c.tool.startsWith(PROBE_PREFIX));
      },
      async probes() {
        return (await record()).filter((c) => c.tool.startsWith(PROBE_PREFIX));
      },
      async reset() {
        const response = await fetch(`${base}/_test/reset`, { method: "POST" });
        if (!response.ok) throw new Error(`reset failed: ${response.status}`);
      },
      async kestraFault(fault) {
        const response = await fetch(`${base}/_test/kestra-fault`, {
          method: "POST",
          body: JSON.stringify(fault),
          headers: { "content-type": "application/json" },
        });
        if (!response.ok) throw new Error(`kestra-fault failed: ${response.status} ${await response.text()}`);
      },
      stop: () => peer.stop(),
    };
  }
}
