// The policy every stack runs behind, and the callers (API-key grants) the cases use. Each case takes
// callers of its own, so a rate limit one case exhausts never colours another case's judgement.
import { compilePolicy, type CompiledPolicy } from "../../policy/compile.ts";
import { parsePolicyText } from "../../policy/load.ts";
import { grantLine } from "../../sidecar/identity/api-keys.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { HUGE_COUNT, LIMIT_MAX, TOOLS } from "./stacks/catalogue.ts";

const TOOL_RULES = `default: deny
hide: [${TOOLS.hidden}]
tools:
  - name: ${TOOLS.list}
    action: allow
  - name: ${TOOLS.limited}
    action: allow
    require: ["has(args.execution_id)"]
    arguments: {type: object, properties: {execution_id: {type: string, minLength: 1}}, required: [execution_id]}
    limits: [{counter: resume, window: minute, max: ${LIMIT_MAX}, scope: grant}]
  - name: ${TOOLS.denied}
    action: deny
    reason: Deleting executions is not allowed.
  - name: ${TOOLS.flagged}
    action: allow
    denyIf: ["has(args.auto_create) && args.auto_create == true"]
  - name: ${TOOLS.targets}
    action: allow
    require: ["has(args.execution_ids)"]
    arguments: {type: object, properties: {execution_ids: {type: array, minItems: 1}}, required: [execution_ids]}
  - name: ${TOOLS.counted}
    action: allow
    denyIf: ["args.count == ${HUGE_COUNT}"]
  - name: ${TOOLS.formatted}
    action: allow
    arguments: {type: object, properties: {source: {type: string, format: url}}}
`;

function document(spec: string): string {
  return mcpPolicy(spec, "differential");
}

function compiles(text: string): boolean {
  try {
    compilePolicy(parsePolicyText(text, "differential"));
    return true;
  } catch {
    return false;
  }
}

/** The JWT audience the suite's tokens carry (identity.jwt, beside the API keys). */
export const JWT_AUDIENCE = "mcp-warden-differential";

/**
 * The policy file's text, with `identity.jwt` when an issuer is given (API keys come from the
 * sidecar's --api-keys file either way). `arguments: strict` (arguments checked against the tool's own inputSchema,
 * no coercion) is asked for once the policy language has it; before that the policy is the same
 * without it, so the suite runs, and judges, both before and after.
 */
const STRICT = compiles(document(`arguments: strict\n${TOOL_RULES}`));

export function policyText(jwtIssuer?: string): string {
  const identity =
    jwtIssuer === undefined ? "" : `identity:\n  jwt: {issuer: "${jwtIssuer}", audiences: ["${JWT_AUDIENCE}"]}\n`;
  return document(`${STRICT ? "arguments: strict\n" : ""}${identity}${TOOL_RULES}`);
}

/** The same policy, compiled here, to decide what the upstream recorded as the upstream read it. */
export const POLICY: CompiledPolicy = compilePolicy(parsePolicyText(policyText(), "differential"));

export interface Caller {
  readonly grant: string;
  readonly key: string;
}

const CALLER_COUNT = 64;

/** caller-00 … caller-63, each with its own API key. */
export const CALLERS: readonly Caller[] = Array.from({ length: CALLER_COUNT }, (_, i) => {
  const grant = `caller-${String(i).padStart(2, "0")}`;
  return { grant, key: `${grant}-secret-key-${(i * 7919).toString(36).padStart(6, "0")}` };
});

export const API_KEYS_TEXT = CALLERS.map((c) => grantLine(c.grant, c.key)).join("\n") + "\n";
