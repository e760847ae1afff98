// Arguments an agent would really send to each Kestra tool, naming objects the FastMCP Kestra server
// starts with, so that every call a policy allows succeeds there (and a failure means something broke).
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { CatalogTool } from "../../policy/catalog/kestra.ts";

/** Ids of the executions the server starts with in company.team, by state. */
export interface SeededExecutions {
  SUCCESS: string;
  FAILED: string;
  PAUSED: string;
  RUNNING: string;
  QUEUED: string;
  /** A task run of the RUNNING execution (change_taskrun_state names one). */
  runningTaskRun: string;
}

/** Reads the seeded executions' ids from the server itself (directly, not through a sidecar). */
export async function seededExecutions(url: string): Promise<SeededExecutions> {
  const client = new Client({ name: "seed-reader", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  try {
    const result = (await client.callTool({
      name: "list_executions",
      arguments: { namespace: "company.team" },
    })) as CallToolResult;
    const executions = (result.structuredContent as { results: { id: string; state: { current: string } }[] }).results;
    const byState = Object.fromEntries(executions.map((e) => [e.state.current, e.id])) as Record<string, string>;
    const running = (await client.callTool({
      name: "manage_executions",
      arguments: { action: "get", execution_id: byState.RUNNING },
    })) as CallToolResult;
    const taskRuns = (running.structuredContent as { taskRunList: { id: string }[] }).taskRunList;
    return { ...byState, runningTaskRun: (taskRuns.at(-1) as { id: string }).id } as unknown as SeededExecutions;
  } finally {
    await client.close();
  }
}

const FLOW = { namespace: "company.team", flow_id: "nightly-etl" };
const FLOW_YAML =
  "id: weekly-report\nnamespace: company.team\ntasks:\n  - id: report\n    type: io.kestra.plugin.core.log.Log\n";

/** The arguments (without `action`) for each tool. */
export function realisticArguments(ids: SeededExecutions): (tool: CatalogTool) => Record<string, unknown> {
  const table: Record<string, Record<string, unknown>> = {
    backfill_executions: { ...FLOW, trigger_id: "schedule", days: 1 },
    invite_user: { email: "new.agent@example.com", group_names: ["data-engineers"] },
    manage_tests: { namespace: "company.team", id_: "nightly-etl-tests", yaml_source: "id: nightly-etl-tests" },
    manage_apps: { uid: "app-reports", yaml_source: "id: reports" },
    search_apps: { q: "rep" },
    manage_announcements: { id_: "ann-1", message: "Deploy freeze" },
    manage_group: { id_: "g-data", name: "data-engineers" },
    manage_invitations: { id_: "inv-1" },
    get_instance_info: {},
    generate_app: { user_prompt: "A form that starts nightly-etl" },
    generate_test: { user_prompt: "Test that nightly-etl loads rows" },
    execute_flow: { ...FLOW, inputs: { date: "2026-05-04" } },
    manage_executions: { execution_id: ids.SUCCESS, status: "WARNING" },
    add_execution_labels: { execution_id: ids.SUCCESS, labels: { reviewed: "yes" } },
    list_executions: { namespace: "company.team", count: 3 },
    namespace_file_action: {
      namespace: "company.team",
      path: "/scripts/etl.py",
      to_path: "/scripts/old-etl.py",
      file_content: "print(1)",
      q: "etl",
    },
    namespace_directory_action: { namespace: "company.team", path: "/scripts", to_path: "/archive" },
    search_flows: { query: "etl" },
    find_flow: { query: "nightly" },
    list_flows_with_triggers: { namespace: "company.team" },
    create_flow_from_yaml: { yaml_definition: FLOW_YAML },
    manage_flow: { ...FLOW },
    generate_flow: { user_prompt: "Copy orders to the warehouse hourly", namespace: "company.team" },
    generate_dashboard: { user_prompt: "Failed executions per flow" },
    manage_kv_store: { namespace: "company.team", key: "api_endpoint", value: "https://billing.example.com/v3" },
    get_execution_logs: { execution_id: ids.FAILED, min_level: "INFO" },
    download_execution_logs: { execution_id: ids.FAILED },
    search_logs: { query: "failed", namespace: "company.team" },
    delete_execution_logs: { execution_id: ids.FAILED },
    delete_flow_logs: { ...FLOW },
    follow_execution_logs: { execution_id: ids.SUCCESS },
    list_namespaces: {},
    list_flows_in_namespace: { namespace: "company.team" },
    list_namespace_dependencies: { namespace: "company.team" },
    replay_execution: { ids: [ids.SUCCESS] },
    restart_execution: { ...FLOW, execution_id: ids.FAILED },
    change_taskrun_state: { execution_id: ids.RUNNING, task_run_id: ids.runningTaskRun, state: "SUCCESS" },
    resume_execution: { execution_ids: [ids.PAUSED] },
    force_run_execution: { execution_id: ids.QUEUED },
  };
  return (tool) => {
    const args = table[tool.name];
    if (!args) throw new Error(`no arguments for ${tool.name}`);
    return structuredClone(args);
  };
}
