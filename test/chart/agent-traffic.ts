// An agent calling tools through a sidecar with the MCP TypeScript SDK's client, in a loop until
// stopped, so that every kind of decision keeps happening while Prometheus scrapes: allowed calls,
// denials (an explicit deny, the default, a hidden tool) and rate-limited calls.
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

export interface CallTally {
  allowed: number;
  denied: number;
  rateLimited: number;
  hidden: number;
}

/** One round of calls; what each returned is tallied. */
const ROUND: Array<{ name: string; arguments: Record<string, unknown> }> = [
  { name: "list_namespaces", arguments: {} },
  { name: "list_namespaces", arguments: { query: "company" } },
  { name: "delete_flow_logs", arguments: { namespace: "company.team", flow_id: "nightly" } }, // denied by its rule
  { name: "restart_execution", arguments: { execution_id: "e-1" } }, // not listed: default deny
  { name: "resume_execution", arguments: { execution_ids: ["e-1"] } }, // limited to 2 a minute
  { name: "force_run_execution", arguments: {} }, // hidden: answered as the server answers a tool it does not have
];

export class AgentTraffic {
  readonly tally: CallTally = { allowed: 0, denied: 0, rateLimited: 0, hidden: 0 };
  readonly #options: { url: string; apiKey: string; pauseMs?: number };
  #client: Client | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(options: { url: string; apiKey: string; pauseMs?: number }) {
    this.#options = options;
  }

  async connect(): Promise<string[]> {
    const client = new Client({ name: "mcp-warden-chart-test-agent", version: "1.0.0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(this.#options.url), {
        requestInit: { headers: { authorization: `Bearer ${this.#options.apiKey}` } },
      }),
    );
    this.#client = client;
    return (await client.listTools()).tools.map((t) => t.name);
  }

  /** Runs one round of calls now. */
  async round(): Promise<void> {
    const client = this.#client;
    if (!client) throw new Error("connect() first");
    for (const call of ROUND) {
      try {
        const result = await client.callTool(call);
        const text = JSON.stringify(result.content ?? []);
        if (result.isError === true && text.includes("Unknown tool")) this.tally.hidden++;
        else if (text.includes("[RATE LIMITED]")) this.tally.rateLimited++;
        else if (text.includes("[POLICY DENIED]")) this.tally.denied++;
        else this.tally.allowed++;
      } catch (error) {
        if ((error as { code?: number }).code === -32602) this.tally.hidden++;
        else throw error;
      }
    }
  }

  /** Keeps calling in the background until stop(). */
  start(): void {
    this.#running = (async () => {
      while (!this.#stopped) {
        await this.round();
        await sleep(this.#options.pauseMs ?? 250);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
    await this.#client?.close();
  }
}
