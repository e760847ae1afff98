// The 39 tools of the Kestra Python MCP server and the risk of each, per `action` value where the
// action decides the risk (see the Kestra reference). Recommended policies are generated from this.
export type Risk = "read" | "write" | "execute" | "delete";

export interface CatalogTool {
  readonly name: string;
  /** The server's tool group (`KESTRA_MCP_DISABLED_TOOLS` works per group). */
  readonly group: string;
  /** The tool's risk; for multi-action tools, the highest of its actions. */
  readonly risk: Risk;
  /** Per-`action` risk, for tools whose `action` argument decides what they do. */
  readonly actions?: Readonly<Record<string, Risk>>;
  /** The action used when a call omits `action`. */
  readonly defaultAction?: string;
  /** `auto_create: true` turns a generator into a write. */
  readonly autoCreate?: boolean;
  /** Returns stored values verbatim (KV values, namespace files): a secrets risk. */
  readonly returnsStoredValues?: boolean;
  /** Acts on "the latest" target when ids are omitted. */
  readonly picksLatestTarget?: boolean;
  /**
   * The arguments that name what the tool acts on (`id`: one string, `ids`: a list of them). The
   * recommended policies require each, non-empty: Kestra's server reads an empty list or string as
   * "not given" and then picks a target itself.
   */
  readonly targets?: Readonly<Record<string, "id" | "ids">>;
  readonly summary: string;
}

const t = (tool: CatalogTool): CatalogTool => tool;

export const KESTRA_TOOLS: readonly CatalogTool[] = [
  t({
    name: "backfill_executions",
    group: "backfill",
    risk: "execute",
    picksLatestTarget: true,
    targets: { namespace: "id", flow_id: "id", trigger_id: "id" },
    summary: "Backfill executions of a flow over a time range",
  }),
  t({ name: "invite_user", group: "ee", risk: "write", summary: "Invite a user to the instance" }),
  t({
    name: "manage_tests",
    group: "ee",
    risk: "delete",
    actions: { create: "write", run: "execute", delete: "delete" },
    summary: "Create, run or delete flow tests",
  }),
  t({
    name: "manage_apps",
    group: "ee",
    risk: "delete",
    actions: { create: "write", enable: "write", disable: "write", delete: "delete" },
    summary: "Create, enable, disable or delete apps",
  }),
  t({ name: "search_apps", group: "ee", risk: "read", summary: "Search apps" }),
  t({
    name: "manage_announcements",
    group: "ee",
    risk: "delete",
    actions: { list: "read", create: "write", update: "write", delete: "delete" },
    summary: "Instance-wide announcements",
  }),
  t({
    name: "manage_group",
    group: "ee",
    risk: "delete",
    actions: { get: "read", create: "write", update: "write", delete: "delete" },
    summary: "Manage user groups",
  }),
  t({
    name: "manage_invitations",
    group: "ee",
    risk: "delete",
    actions: { get: "read", delete: "delete" },
    summary: "Read or delete invitations",
  }),
  t({ name: "get_instance_info", group: "ee", risk: "read", summary: "Instance configuration or licence information" }),
  t({
    name: "generate_app",
    group: "ee",
    risk: "write",
    autoCreate: true,
    summary: "Generate an app (creates it with auto_create)",
  }),
  t({
    name: "generate_test",
    group: "ee",
    risk: "write",
    autoCreate: true,
    summary: "Generate a flow test (creates it with auto_create)",
  }),
  t({
    name: "execute_flow",
    group: "execution",
    risk: "execute",
    targets: { namespace: "id", flow_id: "id" },
    summary: "Start an execution of a flow",
  }),
  t({
    name: "manage_executions",
    group: "execution",
    risk: "delete",
    actions: { get: "read", pause: "execute", kill: "execute", change_status: "execute", delete: "delete" },
    targets: { execution_id: "id" },
    summary: "Get, pause, kill, re-status or delete an execution",
  }),
  t({
    name: "add_execution_labels",
    group: "execution",
    risk: "write",
    targets: { execution_id: "id" },
    summary: "Add labels to an execution",
  }),
  t({ name: "list_executions", group: "execution", risk: "read", summary: "List executions" }),
  t({
    name: "namespace_file_action",
    group: "files",
    risk: "delete",
    actions: { get: "read", search: "read", create: "write", move: "write", delete: "delete" },
    defaultAction: "get",
    returnsStoredValues: true,
    summary: "Get, create, move, delete or search a namespace file",
  }),
  t({
    name: "namespace_directory_action",
    group: "files",
    risk: "delete",
    actions: { list: "read", create: "write", move: "write", delete: "delete" },
    summary: "List, create, move or delete a namespace directory",
  }),
  t({ name: "search_flows", group: "flow", risk: "read", summary: "Search flows" }),
  t({ name: "find_flow", group: "flow", risk: "read", summary: "Find a flow" }),
  t({ name: "list_flows_with_triggers", group: "flow", risk: "read", summary: "List flows with their triggers" }),
  t({ name: "create_flow_from_yaml", group: "flow", risk: "write", summary: "Create or update a flow from YAML" }),
  t({
    name: "manage_flow",
    group: "flow",
    risk: "delete",
    actions: {
      get_yaml: "read",
      list_revisions: "read",
      list_dependencies: "read",
      enable: "write",
      disable: "write",
      delete: "delete",
    },
    summary: "Read, enable, disable or delete a flow",
  }),
  t({
    name: "generate_flow",
    group: "flow",
    risk: "write",
    autoCreate: true,
    summary: "Generate a flow (creates it with auto_create)",
  }),
  t({
    name: "generate_dashboard",
    group: "flow",
    risk: "write",
    autoCreate: true,
    summary: "Generate a dashboard (creates it with auto_create)",
  }),
  t({
    name: "manage_kv_store",
    group: "kv",
    risk: "delete",
    actions: { get: "read", list: "read", set: "write", delete: "delete" },
    returnsStoredValues: true,
    summary: "Get, set, list or delete key-value pairs",
  }),
  t({
    name: "get_execution_logs",
    group: "logs",
    risk: "read",
    targets: { execution_id: "id" },
    summary: "Read the logs of an execution",
  }),
  t({
    name: "download_execution_logs",
    group: "logs",
    risk: "read",
    targets: { execution_id: "id" },
    summary: "Download the logs of an execution",
  }),
  t({ name: "search_logs", group: "logs", risk: "read", summary: "Search logs" }),
  t({
    name: "delete_execution_logs",
    group: "logs",
    risk: "delete",
    targets: { execution_id: "id" },
    summary: "Delete the logs of an execution",
  }),
  t({
    name: "delete_flow_logs",
    group: "logs",
    risk: "delete",
    targets: { namespace: "id", flow_id: "id" },
    summary: "Delete the logs of a flow",
  }),
  t({
    name: "follow_execution_logs",
    group: "logs",
    risk: "read",
    targets: { execution_id: "id" },
    summary: "Follow the logs of an execution",
  }),
  t({ name: "list_namespaces", group: "namespace", risk: "read", summary: "List namespaces" }),
  t({ name: "list_flows_in_namespace", group: "namespace", risk: "read", summary: "List the flows of a namespace" }),
  t({
    name: "list_namespace_dependencies",
    group: "namespace",
    risk: "read",
    summary: "List a namespace's dependencies",
  }),
  t({
    name: "replay_execution",
    group: "replay",
    risk: "execute",
    picksLatestTarget: true,
    targets: { ids: "ids" },
    summary: "Replay executions",
  }),
  t({
    name: "restart_execution",
    group: "restart",
    risk: "execute",
    picksLatestTarget: true,
    targets: { namespace: "id", flow_id: "id", execution_id: "id" },
    summary: "Restart an execution",
  }),
  t({
    name: "change_taskrun_state",
    group: "restart",
    risk: "execute",
    picksLatestTarget: true,
    targets: { execution_id: "id", task_run_id: "id" },
    summary: "Change the state of a task run",
  }),
  t({
    name: "resume_execution",
    group: "resume",
    risk: "execute",
    picksLatestTarget: true,
    targets: { execution_ids: "ids" },
    summary: "Resume paused executions",
  }),
  t({
    name: "force_run_execution",
    group: "resume",
    risk: "execute",
    targets: { execution_id: "id" },
    summary: "Force a queued execution to run",
  }),
];

export function actionsOfRisk(tool: CatalogTool, risks: readonly Risk[]): string[] {
  return Object.entries(tool.actions ?? {})
    .filter(([, risk]) => risks.includes(risk))
    .map(([action]) => action);
}
