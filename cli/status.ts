// `mcp-warden status` (also `kubectl mcp-warden status`): the McpPolicies of the current context's
// namespace (or all of them), whether each is ready, how many of the pods it selects enforce it, and
// for the pods running without the sidecar the command that fixes them. Reads what the operator wrote
// into each policy's status, and the pods that status names.
import { parseArgs } from "node:util";
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { describeApiError, isNotFound, statusCodeOf } from "../kube/api-errors.ts";
import type { KubeObject } from "../kube/informer.ts";
import { fixes } from "../operator/controller/policy-status.ts";
import { summarizePod } from "../operator/controller/pod-summary.ts";
import { API_GROUP, API_VERSION } from "../policy/schema.ts";
import { KUBE_CONTEXT_OPTIONS, KUBE_CONTEXT_USAGE, kubeContext } from "./kube-context.ts";
import { renderTable, reportPolicy, type PolicyObject, type PolicyReport, type UnguardedPod } from "./status-report.ts";
import { UsageError } from "./usage-error.ts";

export const statusUsage = `mcp-warden status [POLICY] ${KUBE_CONTEXT_USAGE} [-o table|json|yaml]`;

const OUTPUTS = ["table", "json", "yaml"] as const;
const PLURAL = "mcppolicies";

export interface StatusIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  now: () => number;
  /** How the user invoked mcp-warden, for messages. */
  program: string;
}

export const processIo: StatusIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  env: process.env,
  now: Date.now,
  program: "mcp-warden",
};

export async function runStatus(argv: string[], io: StatusIo = processIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...KUBE_CONTEXT_OPTIONS, output: { type: "string", short: "o", default: "table" } },
  });
  const output = values.output as (typeof OUTPUTS)[number];
  if (!OUTPUTS.includes(output)) throw new UsageError(`-o/--output must be one of ${OUTPUTS.join(", ")}`);
  if (positionals.length > 1) throw new UsageError("give at most one policy name");
  const name = positionals[0];
  if (name !== undefined && values["all-namespaces"])
    throw new UsageError("a policy name needs a namespace (-n), not -A");

  let context;
  try {
    context = kubeContext(values, io.env);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    io.stderr(`${io.program} status: ${(error as Error).message}\n`);
    return 1;
  }
  let reports: PolicyReport[];
  try {
    reports = await collectReports(context.kubeConfig, context.namespace, name);
  } catch (error) {
    io.stderr(`${io.program} status: ${explain(error, context.kubeConfig, context.namespace, name)}\n`);
    return 1;
  }

  if (output === "json") io.stdout(`${JSON.stringify({ policies: reports }, null, 2)}\n`);
  else if (output === "yaml") io.stdout(stringify({ policies: reports }));
  else if (reports.length === 0)
    io.stderr(
      context.namespace ? `No McpPolicies found in ${context.namespace} namespace.\n` : "No McpPolicies found.\n",
    );
  else io.stdout(renderTable(reports, { allNamespaces: context.namespace === undefined, now: io.now() }));
  return 0;
}

async function collectReports(
  kubeConfig: KubeConfig,
  namespace: string | undefined,
  name: string | undefined,
): Promise<PolicyReport[]> {
  const objects = kubeConfig.makeApiClient(CustomObjectsApi);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const target = { group: API_GROUP, version: API_VERSION, plural: PLURAL };
  let policies: PolicyObject[];
  if (name !== undefined) {
    policies = [
      (await objects.getNamespacedCustomObject({ ...target, namespace: namespace as string, name })) as PolicyObject,
    ];
  } else {
    const list = (
      namespace
        ? await objects.listNamespacedCustomObject({ ...target, namespace })
        : await objects.listClusterCustomObject(target)
    ) as { items: PolicyObject[] };
    policies = list.items.sort(
      (a, b) =>
        a.metadata.namespace.localeCompare(b.metadata.namespace) || a.metadata.name.localeCompare(b.metadata.name),
    );
  }
  return await Promise.all(policies.map(async (policy) => reportPolicy(policy, await unguardedPods(core, policy))));
}

/** The pods the status names as running without the sidecar, each with its fix; pods gone since are left out. */
async function unguardedPods(core: CoreV1Api, policy: PolicyObject): Promise<UnguardedPod[]> {
  const namespace = policy.metadata.namespace;
  const found = await Promise.all(
    (policy.status?.unguardedPods ?? []).map(async (name): Promise<UnguardedPod | undefined> => {
      try {
        const pod = summarizePod((await core.readNamespacedPod({ namespace, name })) as unknown as KubeObject);
        const fix = pod.hostNetwork
          ? "uses hostNetwork and cannot get the sidecar: exclude it from spec.podSelector"
          : fixes([pod], namespace)[0];
        return { name, fix };
      } catch (error) {
        if (isNotFound(error)) return undefined;
        return { name, fix: undefined };
      }
    }),
  );
  return found.filter((p) => p !== undefined);
}

function explain(
  error: unknown,
  kubeConfig: KubeConfig,
  namespace: string | undefined,
  name: string | undefined,
): string {
  const code = statusCodeOf(error);
  const where = namespace ? `in namespace ${namespace}` : "in any namespace";
  if (code === 404 && name !== undefined) return `McpPolicy ${name} not found ${where}`;
  if (code === 404)
    return `the cluster does not know McpPolicies (${PLURAL}.${API_GROUP}): install mcp-warden's CRD first`;
  if (code === 401)
    return `the API server at ${kubeConfig.getCurrentCluster()?.server} did not accept the credentials of context "${kubeConfig.getCurrentContext()}"`;
  if (code === 403) return `not allowed to read McpPolicies ${where}: ${describeApiError(error)}`;
  if (code !== undefined) return describeApiError(error);
  const cause = (error as Error).cause as Error | undefined;
  return `cannot reach the API server at ${kubeConfig.getCurrentCluster()?.server}: ${(error as Error).message}${cause?.message ? ` (${cause.message})` : ""}`;
}
