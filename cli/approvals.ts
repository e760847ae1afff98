// `mcp-warden approvals list | approve NAME | deny NAME --reason TEXT`, with kubectl's flags for the
// cluster and namespace (the kubectl plugin dispatches `kubectl mcp-warden approvals …` here).
import { parseArgs } from "node:util";
import { describeApiError, statusCodeOf } from "../kube/api-errors.ts";
import { KubeHttp } from "../kube/http.ts";
import { McpApprovalClient, parseApproval, type McpApprovalObject } from "../kube/mcp-approvals.ts";
import { approvalState, timeOf } from "../policy/approval/state.ts";
import { APPROVER_ROLE } from "../operator/rbac/approver-role.ts";
import { decideApproval, DecisionError } from "./approvals-decide.ts";
import {
  KUBE_CONTEXT_OPTIONS,
  KUBE_CONTEXT_USAGE,
  kubeContext,
  type KubeContext,
  type KubeContextFlags,
} from "./kube-context.ts";
import { UsageError } from "./usage-error.ts";

// approve and deny work on one approval, in one namespace: kubectl's flags without -A.
const { "all-namespaces": _all, ...KUBE_ONE_NAMESPACE_OPTIONS } = KUBE_CONTEXT_OPTIONS;
const KUBE_ONE_NAMESPACE_USAGE = "[--kubeconfig FILE] [--context NAME] [-n NAMESPACE]";

export const listUsage = `mcp-warden approvals list ${KUBE_CONTEXT_USAGE} [--pending] [-o wide|json]`;
export const approveUsage = `mcp-warden approvals approve NAME ${KUBE_ONE_NAMESPACE_USAGE} [--reason TEXT]`;
export const denyUsage = `mcp-warden approvals deny NAME --reason TEXT ${KUBE_ONE_NAMESPACE_USAGE}`;

interface Invocation {
  /** How the user invoked mcp-warden ("kubectl mcp-warden" as a kubectl plugin), for hints. */
  program: string;
}
const DIRECT: Invocation = { program: "mcp-warden" };

const MAX_REASON = 1024;

export async function runApprovalsList(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...KUBE_CONTEXT_OPTIONS, pending: { type: "boolean" }, output: { type: "string", short: "o" } },
  });
  if (positionals.length > 0) throw new UsageError(`approvals list takes no arguments, got "${positionals[0]}"`);
  const output = values.output ?? "table";
  if (!["table", "wide", "json"].includes(output)) throw new UsageError(`-o must be wide or json, not "${output}"`);
  const target = connect(values);
  if (!target) return 1;
  const all = target.namespace === undefined;
  let items: unknown[];
  try {
    items = await new McpApprovalClient(new KubeHttp(target.kubeConfig)).list(target.namespace);
  } catch (error) {
    return fail(
      statusCodeOf(error) === 403
        ? `you may not list McpApprovals ${all ? "in all namespaces" : `in namespace ${target.namespace}`} (${describeApiError(error)}); approvers need the ClusterRole ${APPROVER_ROLE}`
        : `cannot list McpApprovals: ${describeApiError(error)}`,
    );
  }
  const now = Date.now();
  const approvals = items.flatMap((raw) => {
    const parsed = parseApproval(raw);
    if (!parsed.ok)
      process.stderr.write(`warning: skipping ${describeObject(raw)}: not a valid McpApproval (${parsed.problem})\n`);
    return parsed.ok ? [parsed.approval] : [];
  });
  const shown = approvals
    .filter((a) => !values.pending || approvalState(a, now) === "Pending")
    .sort((a, b) => (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? ""));
  if (output === "json") {
    process.stdout.write(`${JSON.stringify({ apiVersion: "v1", kind: "List", items: shown }, null, 2)}\n`);
    return 0;
  }
  if (shown.length === 0) {
    process.stderr.write(
      `No ${values.pending ? "pending " : ""}McpApprovals found${all ? "" : ` in namespace ${target.namespace}`}.\n`,
    );
    return 0;
  }
  process.stdout.write(table(shown, { now, all, wide: output === "wide" }));
  return 0;
}

export const runApprovalsApprove = (argv: string[], invocation: Invocation = DIRECT) =>
  runDecision(argv, "Approved", invocation);
export const runApprovalsDeny = (argv: string[], invocation: Invocation = DIRECT) =>
  runDecision(argv, "Denied", invocation);

async function runDecision(argv: string[], decision: "Approved" | "Denied", invocation: Invocation): Promise<number> {
  const verb = decision === "Approved" ? "approve" : "deny";
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...KUBE_ONE_NAMESPACE_OPTIONS, reason: { type: "string" } },
  });
  if (positionals.length !== 1) throw new UsageError(`approvals ${verb} needs exactly one approval NAME`);
  const reason = values.reason?.trim();
  if (decision === "Denied" && !reason) throw new UsageError("approvals deny needs --reason: the agent is told why");
  if (reason && reason.length > MAX_REASON) throw new UsageError(`--reason is limited to ${MAX_REASON} characters`);
  const target = connect(values);
  if (!target) return 1;
  const name = positionals[0] as string;
  const namespace = target.namespace ?? "default";
  try {
    const { approval, decidedBy } = await decideApproval(new KubeHttp(target.kubeConfig), {
      namespace,
      name,
      decision,
      reason,
      program: invocation.program,
    });
    const s = approval.spec;
    process.stdout.write(
      `mcpapproval.mcpwarden.io/${name} ${decision.toLowerCase()} by ${decidedBy}: ${s.caller} may call ${s.tool} with ${s.args}\n`,
    );
    if (decision === "Approved")
      process.stdout.write(
        `The call goes through when it is made (or retried with the same arguments) before it expires.\n`,
      );
    return 0;
  } catch (error) {
    if (error instanceof DecisionError) return fail(error.message);
    return fail(`cannot ${verb} McpApproval ${namespace}/${name}: ${describeApiError(error)}`);
  }
}

function connect(values: KubeContextFlags): KubeContext | undefined {
  try {
    return kubeContext(values);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    fail((error as Error).message);
    return undefined;
  }
}

function fail(message: string): number {
  process.stderr.write(`error: ${message}\n`);
  return 1;
}

function table(approvals: McpApprovalObject[], o: { now: number; all: boolean; wide: boolean }): string {
  const header = [
    ...(o.all ? ["NAMESPACE"] : []),
    "NAME",
    "TOOL",
    "CALLER",
    "STATE",
    "AGE",
    "EXPIRES",
    ...(o.wide ? ["POLICY", "DECIDED-BY", "ARGS"] : []),
  ];
  const rows = approvals.map((a) => {
    const state = approvalState(a, o.now);
    const expires = state === "Used" || state === "Expired" ? "-" : `in ${age(timeOf(a.spec.expiresAt) - o.now)}`;
    return [
      ...(o.all ? [a.metadata.namespace ?? ""] : []),
      a.metadata.name,
      a.spec.tool,
      a.spec.caller,
      state,
      age(o.now - timeOf(a.metadata.creationTimestamp)),
      expires,
      ...(o.wide ? [a.spec.policy, a.status?.decidedBy ?? "-", a.spec.args] : []),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("   ")
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join("\n")}\n`;
}

/** Durations as kubectl prints ages: 45s, 12m, 3h, 2d. */
export function age(ms: number): string {
  if (!Number.isFinite(ms)) return "<unknown>";
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 2 * 3600) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

function describeObject(raw: unknown): string {
  const m = (raw as { metadata?: { namespace?: string; name?: string } } | undefined)?.metadata;
  return `${m?.namespace ?? "?"}/${m?.name ?? "?"}`;
}
