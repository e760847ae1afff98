// The second real Kestra MCP server: PyPI's iflow-mcp-mcp-server-python 0.1.2 (an older revision of
// kestra-io/mcp-server-python on the SDK's FastMCP, run by FastMCP 2's CLI), from its own virtualenv
// (scripts/prerequisites.sh), in front of the fake Kestra REST API (test/python/kestra/src/
// fake_kestra_api.py), which records every request that reached Kestra.
//
// It is started as docs/kestra.md tells users to start it behind the sidecar (the injector's kestra
// profile cannot, ADR 129): from the package's site-packages folder, where it lays out src/server.py,
//   FASTMCP_HOST=127.0.0.1 FASTMCP_PORT=18000 fastmcp run src/server.py:mcp --transport streamable-http
//
//   const kestra = await startKestraPypi();   // kestra.url → http://127.0.0.1:PORT/mcp
//   await kestra.requests()                    // what reached the Kestra REST API
//   await kestra.reset();  await kestra.stop();
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { freePort } from "../support/ports.ts";
import { runPeer, startPeer, venvPython, type Peer } from "../support/processes.ts";
import { KESTRA_SERVER_DIR } from "./kestra-fastmcp.ts";

/** The package's launch command behind a sidecar (the address comes from FASTMCP_HOST/FASTMCP_PORT). */
export const KESTRA_PYPI_COMMAND = ["fastmcp", "run", "src/server.py:mcp", "--transport", "streamable-http"] as const;
/** The token the server sends to Kestra (KESTRA_API_TOKEN), never the agent's. */
export const KESTRA_API_TOKEN = "kestra-api-token-for-tests";

export interface KestraRequest {
  method: string;
  path: string;
  query: string;
  body: string;
  authorization: string | null;
}

export interface KestraPypi {
  readonly url: string;
  /** The fake Kestra REST API's base (…/api/v1), to read Kestra's state directly. */
  readonly kestraApi: string;
  requests(): Promise<KestraRequest[]>;
  reset(): Promise<void>;
  /** Kestra's API answers this status to every request until `kestraFault({})`. */
  kestraFault(fault: { status: number } | Record<string, never>): Promise<void>;
  /** Stops Kestra's API (the server's calls find nothing listening) or starts it again, in its initial state. */
  kestraReachable(reachable: boolean): Promise<void>;
  stop(): Promise<void>;
}

/** The PyPI Kestra server's virtualenv (scripts/prerequisites.sh builds it). */
export function kestraPypiVenv(): string {
  const venv = join(process.env.MCP_WARDEN_CACHE ?? join(homedir(), ".cache", "mcp-warden"), "venv-kestra-pypi");
  if (!existsSync(join(venv, "bin", "fastmcp")))
    throw new Error(`${venv} is missing: run scripts/prerequisites.sh (npm test does)`);
  return venv;
}

async function sitePackages(venv: string): Promise<string> {
  const result = await runPeer(join(venv, "bin", "python"), [
    "-c",
    "import sysconfig; print(sysconfig.get_paths()['purelib'])",
  ]);
  if (result.code !== 0) throw new Error(result.stderr);
  return result.stdout.trim();
}

/** Starts a peer on a free port, again on another port when the chosen one was taken meanwhile. */
async function onFreePort(start: (port: number) => Peer, ready: RegExp): Promise<{ peer: Peer; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const peer = start(port);
    try {
      await peer.waitFor(ready, 60_000);
      return { peer, port };
    } catch (error) {
      await peer.stop();
      if (attempt < 3 && /address already in use/i.test(peer.output())) continue;
      throw error;
    }
  }
}

function startKestraApi(port: number): Peer {
  return startPeer(venvPython(), ["fake_kestra_api.py", String(port)], {
    cwd: join(KESTRA_SERVER_DIR, "src"),
    env: { PYTHONDONTWRITEBYTECODE: "1" },
  });
}

export async function startKestraPypi(): Promise<KestraPypi> {
  const venv = kestraPypiVenv();
  const api = await onFreePort(startKestraApi, /Uvicorn running on/);
  const apiBase = `http://127.0.0.1:${api.port}`;
  try {
    const cwd = await sitePackages(venv);
    const [command, ...args] = KESTRA_PYPI_COMMAND;
    const server = await onFreePort(
      (port) =>
        startPeer(join(venv, "bin", command), args, {
          cwd,
          env: {
            PATH: `${join(venv, "bin")}:${process.env.PATH ?? ""}`,
            FASTMCP_HOST: "127.0.0.1",
            FASTMCP_PORT: String(port),
            FASTMCP_CHECK_FOR_UPDATES: "off",
            FASTMCP_SHOW_SERVER_BANNER: "false",
            KESTRA_BASE_URL: `${apiBase}/api/v1`,
            KESTRA_API_TOKEN,
            PYTHONDONTWRITEBYTECODE: "1",
          },
        }),
      /Uvicorn running on http:\/\/127\.0\.0\.1:\d+/,
    );
    return {
      url: `http://127.0.0.1:${server.port}/mcp`,
      kestraApi: `${apiBase}/api/v1`,
      async requests() {
        return (await (await fetch(`${apiBase}/_test/requests`)).json()) as KestraRequest[];
      },
      async reset() {
        const response = await fetch(`${apiBase}/_test/reset`, { method: "POST" });
        if (!response.ok) throw new Error(`reset failed: ${response.status}`);
      },
      async kestraFault(fault) {
        const response = await fetch(`${apiBase}/_test/fault`, {
          method: "POST",
          body: JSON.stringify(fault),
          headers: { "content-type": "application/json" },
        });
        if (!response.ok) throw new Error(`fault failed: ${response.status} ${await response.text()}`);
      },
      async kestraReachable(reachable) {
        await api.peer.stop();
        if (reachable) {
          api.peer = startKestraApi(api.port);
          await api.peer.waitFor(/Uvicorn running on/, 60_000);
        }
      },
      async stop() {
        await server.peer.stop();
        await api.peer.stop();
      },
    };
  } catch (error) {
    await api.peer.stop();
    throw error;
  }
}
