// `mcp-warden policy init --server kestra [--level strict|balanced|read-only] [--identity kubernetes|api-keys] [--name N] [--namespace NS] [--pin]`:
// prints a ready, commented McpPolicy for a known MCP server; --pin adds spec.pins with the definition
// digests of the catalogue's tools (policy/catalog/kestra-pins.ts).
import { parseArgs } from "node:util";
import {
  IDENTITIES,
  LEVELS,
  recommendKestraPolicy,
  TOKEN_AUDIENCE,
  type IdentityChoice,
  type Level,
} from "../policy/catalog/recommend.ts";
import { KESTRA_PINS } from "../policy/catalog/kestra-pins.ts";
import { renderPolicyYaml } from "../policy/render.ts";
import { UsageError } from "./usage-error.ts";

export const initUsage =
  "mcp-warden policy init --server kestra [--level strict|balanced|read-only] [--identity kubernetes|api-keys] [--name N] [--namespace NS] [--pin]";

export function runPolicyInit(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      server: { type: "string" },
      level: { type: "string", default: "balanced" },
      identity: { type: "string", default: "kubernetes" },
      name: { type: "string", default: "kestra" },
      namespace: { type: "string" },
      pin: { type: "boolean", default: false },
    },
  });
  if (values.server !== "kestra")
    throw new UsageError(
      `--server must be kestra (the servers with a built-in catalogue), got ${values.server ?? "nothing"}`,
    );
  if (!(LEVELS as readonly string[]).includes(values.level))
    throw new UsageError(`--level must be one of ${LEVELS.join(", ")}`);
  if (!(IDENTITIES as readonly string[]).includes(values.identity))
    throw new UsageError(`--identity must be one of ${IDENTITIES.join(", ")}`);
  const level = values.level as Level;
  const identity = values.identity as IdentityChoice;
  const recommended = recommendKestraPolicy(level, values.name, values.namespace, identity);
  if (values.pin)
    recommended.resource.spec.pins = { mode: "Enforce", onDrift: "hide", newTools: "hide", tools: { ...KESTRA_PINS } };
  const callers =
    identity === "kubernetes"
      ? `Agents authenticate with service-account tokens minted for the audience ${TOKEN_AUDIENCE}; the grant is the service account.`
      : `Agents authenticate with API keys: Secret ${values.name}-api-keys, key grants, lines of "name: sha256(key)"; the grant is the name.`;
  const header = [
    `McpPolicy for the Kestra MCP server, level ${level} (mcp-warden policy init).`,
    callers,
    'arguments: strict: each call\'s arguments must match the inputSchema the server declares, uncoerced ("true" is not true).',
    "Unlisted tools are denied. Resources and prompts are denied too: the Kestra server serves none, so one it gains waits for review.",
    ...(values.pin
      ? [
          `spec.pins: the ${Object.keys(KESTRA_PINS).length} tool definitions of the catalogue, by digest; a tool whose definition differs is hidden and denied, and new tools are hidden,`,
          "until a person reviews it: kubectl mcp-warden pins diff|accept -n NAMESPACE NAME (or mcp-warden policy pin --url URL --policy FILE).",
        ]
      : []),
    "Review, adjust podSelector, then: kubectl apply -f <this file>",
  ].join("\n");
  process.stdout.write(renderPolicyYaml(recommended.resource, { header, toolComments: recommended.comments }));
  return Promise.resolve(0);
}
