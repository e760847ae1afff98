// Plausible answers of the Kestra MCP server's tools, deterministic so tests and benchmarks can compare
// them byte for byte. Shapes follow Kestra's API objects (executions, flows, key-value entries); the
// values are made up. A `list_executions` page of 13 executions (about 0.9 KB each) is sent as text and
// as structuredContent: about 24 KB on the wire, like a real one.
import { createHash } from "node:crypto";

export type ToolArguments = Record<string, unknown>;

const FLOWS = ["nightly-etl", "billing-sync", "customer-export", "ml-retrain", "audit-report"];
const STATES = ["SUCCESS", "SUCCESS", "SUCCESS", "FAILED", "RUNNING", "PAUSED"];
const EPOCH = Date.UTC(2026, 4, 4, 2, 0, 0);

/** A Kestra-style short id (22 base62-ish characters), derived from a seed. */
function kestraId(seed: string): string {
  return createHash("sha256").update(seed).digest("base64url").slice(0, 22);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** One execution object, about 0.8 KB of compact JSON, as Kestra's API returns it. */
export function execution(namespace: string, index: number, flowId?: string): Record<string, unknown> {
  const flow = flowId ?? FLOWS[index % FLOWS.length];
  const id = kestraId(`${namespace}/${flow}/${index}`);
  const state = STATES[index % STATES.length] as string;
  const start = EPOCH - index * 3_600_000;
  const end = start + 12_345 + index * 17;
  const histories = [
    { state: "CREATED", date: iso(start) },
    { state: "RUNNING", date: iso(start + 210) },
    ...(state === "RUNNING" ? [] : [{ state, date: iso(end) }]),
  ];
  return {
    id,
    namespace,
    flowId: flow,
    flowRevision: 3 + (index % 5),
    labels: [{ key: "system.correlationId", value: id }],
    state: {
      current: state,
      histories,
      duration: `PT${((end - start) / 1000).toFixed(3)}S`,
      startDate: iso(start),
      endDate: state === "RUNNING" ? null : iso(end),
    },
    originalId: id,
    deleted: false,
    metadata: { attemptNumber: 1, originalCreatedDate: iso(start) },
    scheduleDate: iso(start),
    trigger: {
      id: "schedule",
      type: "io.kestra.plugin.core.trigger.Schedule",
      variables: { date: iso(start), next: iso(start + 86_400_000), previous: iso(start - 86_400_000) },
    },
    inputs: { date: iso(start).slice(0, 10), dryRun: false },
  };
}

/** The structured result of a tool call; the server sends it as text and as structuredContent. */
export function kestraResult(
  tool: string,
  args: ToolArguments,
  options: { executionsPerPage: number },
): Record<string, unknown> {
  const namespace = typeof args.namespace === "string" ? args.namespace : "company.team";
  switch (tool) {
    case "list_executions": {
      const count = typeof args.count === "number" ? Math.max(0, Math.min(args.count, 500)) : options.executionsPerPage;
      const flowId = typeof args.flow_id === "string" && args.flow_id !== "" ? args.flow_id : undefined;
      const results = Array.from({ length: count }, (_, i) => execution(namespace, i, flowId));
      return { results, total: 1000 + count };
    }
    case "resume_execution":
    case "restart_execution":
    case "replay_execution": {
      const ids = Array.isArray(args.execution_ids)
        ? (args.execution_ids as unknown[]).map(String)
        : [typeof args.execution_id === "string" ? args.execution_id : kestraId(`${namespace}/latest`)];
      const state = tool === "resume_execution" ? "RUNNING" : tool === "restart_execution" ? "RESTARTED" : "CREATED";
      return { count: ids.length, executions: ids.map((id) => ({ id, namespace, state: { current: state } })) };
    }
    case "list_namespaces":
      return {
        results: ["company", "company.team", "company.finance", "dev.sandbox"].map((id) => ({ id, disabled: false })),
        total: 4,
      };
    case "manage_kv_store":
      return {
        namespace,
        key: args.key ?? null,
        action: args.action ?? "get",
        value: args.action === "get" ? "stored-value" : null,
      };
    default:
      return { tool, status: "ok", namespace, received: Object.keys(args).sort() };
  }
}

/** Log lines `follow_execution_logs` streams as notifications before its result. */
export function logLines(executionId: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${iso(EPOCH + i * 1000)} INFO [${executionId}] task-${i} finished`);
}
