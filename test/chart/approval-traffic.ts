// Approvals happening while Prometheus scrapes: an agent (the MCP TypeScript SDK's client) calls a
// tool of an `approve` rule with new arguments each time, its call held by the sidecar, and a person
// bound to the chart's mcp-warden-approver ClusterRole decides each request as it appears, approving
// one and denying the next. So approved, denied and used approvals keep being counted by the
// operator, and decisions keep feeding its time-to-decision histogram.
import { setTimeout as sleep } from "node:timers/promises";
import type { KubeConfig } from "@kubernetes/client-node";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { decideApproval } from "../../cli/approvals-decide.ts";
import { KubeHttp } from "../../kube/http.ts";
import { McpApprovalClient, parseApproval } from "../../kube/mcp-approvals.ts";
import { approvalState } from "../../policy/approval/state.ts";

export interface ApprovalTally {
  /** Calls the upstream answered (approved, then forwarded). */
  forwarded: number;
  /** Calls answered [POLICY DENIED] after a denial. */
  denied: number;
}

export class ApprovalTraffic {
  readonly tally: ApprovalTally = { forwarded: 0, denied: 0 };
  readonly #o: { url: string; apiKey: string; tool: string; namespace: string; approver: KubeConfig };
  #client: Client | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #round = 0;

  constructor(options: { url: string; apiKey: string; tool: string; namespace: string; approver: KubeConfig }) {
    this.#o = options;
  }

  async connect(): Promise<void> {
    const client = new Client({ name: "mcp-warden-chart-test-approvals", version: "1.0.0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(this.#o.url), {
        requestInit: { headers: { authorization: `Bearer ${this.#o.apiKey}` } },
      }),
    );
    this.#client = client;
  }

  /** One held call, decided by the approver: approved on even rounds, denied on odd ones. */
  async round(): Promise<void> {
    const client = this.#client;
    if (!client) throw new Error("connect() first");
    const round = this.#round++;
    const flow = `traffic-${round}`;
    const call = client.callTool({ name: this.#o.tool, arguments: { namespace: "company.team", flow_id: flow } });
    await this.#decide(flow, round % 2 === 0 ? "Approved" : "Denied");
    const text = JSON.stringify((await call).content ?? []);
    if (text.includes("[POLICY DENIED]")) this.tally.denied++;
    else if (!text.includes("[APPROVAL REQUIRED]")) this.tally.forwarded++;
  }

  /** Keeps going in the background until stop(). */
  start(): void {
    this.#running = (async () => {
      while (!this.#stopped) {
        await this.round();
        await sleep(500);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
    await this.#client?.close();
  }

  /** Waits for the pending approval of `flow` and decides it, as the approver. */
  async #decide(flow: string, decision: "Approved" | "Denied"): Promise<void> {
    const http = new KubeHttp(this.#o.approver);
    const approvals = new McpApprovalClient(http);
    for (let attempt = 0; attempt < 200; attempt++) {
      for (const raw of await approvals.list(this.#o.namespace)) {
        const parsed = parseApproval(raw);
        if (
          !parsed.ok ||
          !parsed.approval.spec.args.includes(`"flow_id":"${flow}"`) ||
          approvalState(parsed.approval, Date.now()) !== "Pending"
        )
          continue;
        await decideApproval(http, {
          namespace: this.#o.namespace,
          name: parsed.approval.metadata.name,
          decision,
          reason: decision === "Denied" ? "not now" : undefined,
        });
        return;
      }
      await sleep(100);
    }
    throw new Error(`no pending approval for ${flow} appeared`);
  }
}
