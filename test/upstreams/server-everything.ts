// @modelcontextprotocol/server-everything over Streamable HTTP on a free loopback port: the reference
// server that serves tools, resources, prompts and tasks, for interop and conformance suites.
import { freePort } from "../support/ports.ts";
import { startPeer, type Peer } from "../support/processes.ts";

const EVERYTHING = new URL("../../node_modules/@modelcontextprotocol/server-everything/dist/index.js", import.meta.url)
  .pathname;

export interface ServerEverything {
  /** Its MCP endpoint. */
  readonly url: string;
  readonly peer: Peer;
  stop(): Promise<void>;
}

export async function startServerEverything(): Promise<ServerEverything> {
  const port = await freePort();
  const peer = startPeer(process.execPath, [EVERYTHING, "streamableHttp"], { env: { PORT: String(port) } });
  await peer.waitFor(/listening on port/);
  return { url: `http://127.0.0.1:${port}/mcp`, peer, stop: () => peer.stop() };
}
