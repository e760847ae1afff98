// The policy the HTTP fuzzer runs the sidecar with, and the facts about it that the spy upstream and
// the generators share. Every rule is about the tool and its arguments, never the caller, so the spy
// (which never learns who called) can re-decide every call it receives exactly as the sidecar should
// have. Rate limits are global, so the spy can count them too.
import { compilePolicy, type CompiledPolicy } from "../../../policy/compile.ts";
import { parsePolicyText } from "../../../policy/load.ts";
import { mcpPolicy } from "../policy-yaml.ts";

export const LIMITED_TOOL = "resume_execution";
export const LIMITED_MAX = 40;
export const HIDDEN_TOOL = "force_run_execution";

export const FUZZ_POLICY_TEXT = mcpPolicy(
  `
default: deny
hide: [${HIDDEN_TOOL}]
tools:
  - name: list_namespaces
  - name: list_flows
    arguments: {type: object, properties: {namespace: {type: string, maxLength: 16}}, additionalProperties: false}
  - name: manage_kv_store
    require: ["has(args.namespace) && string(args.namespace).startsWith('dev.')"]
    denyIf: ["has(args.action) && args.action == 'delete'"]
  - name: ${LIMITED_TOOL}
    limits: [{counter: resume, window: hour, max: ${LIMITED_MAX}, scope: global}]
  - name: "get_*"
  - name: delete_*
    action: deny
    reason: "Deleting is not for agents."
  - name: execute_flow
    action: approve`,
  "fuzz",
);

export const FUZZ_POLICY: CompiledPolicy = compilePolicy(parsePolicyText(FUZZ_POLICY_TEXT, "fuzz"));

/** Tool names the generators pick from: allowed, denied, hidden, approval, glob matches, unknown. */
export const TOOL_NAMES = [
  "list_namespaces",
  "list_flows",
  "manage_kv_store",
  LIMITED_TOOL,
  "get_flow",
  "get_execution",
  "delete_flow",
  "delete_flow_logs",
  "execute_flow",
  HIDDEN_TOOL,
  "search_flows",
  "restart_execution",
  "no_such_tool",
] as const;

/** What the spy's tools/list offers (the hidden tool among them: the sidecar must remove it). */
export const UPSTREAM_TOOLS = [
  "list_namespaces",
  "list_flows",
  "manage_kv_store",
  LIMITED_TOOL,
  "get_flow",
  "delete_flow",
  "execute_flow",
  HIDDEN_TOOL,
];
