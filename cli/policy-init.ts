// `mcp-warden policy init --server kestra [--level strict|balanced|read-only] [--name N] [--namespace NS]`:
// prints a ready, commented McpPolicy for a known MCP server.
import { parseArgs } from "node:util";
import { LEVELS, recommendKestraPolicy, type Level } from "../policy/catalog/recommend.ts";
import { renderPolicyYaml } from "../policy/render.ts";
import { UsageError } from "./usage-error.ts";

export const initUsage = "mcp-warden policy init --server kestra [--level strict|balanced|read-only] [--name N] [--namespace NS]";

export function runPolicyInit(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      server: { type: "string" },
      level: { type: "string", default: "balanced" },
      name: { type: "string", default: "kestra" },
      namespace: { type: "string" },
    },
  });
  if (values.server !== "kestra") throw new UsageError(`--server must be kestra (the servers with a built-in catalogue), got ${values.server ?? "nothing"}`);
  if (!(LEVELS as readonly string[]).includes(values.level)) throw new UsageError(`--level must be one of ${LEVELS.join(", ")}`);
  const level = values.level as Level;
  const recommended = recommendKestraPolicy(level, values.name, values.namespace);
  const header = [
    `McpPolicy for the Kestra MCP server, level ${level} (mcp-warden policy init).`,
    "Unlisted tools are denied. Review, adjust podSelector, then: kubectl apply -f <this file>",
  ].join("\n");
  process.stdout.write(renderPolicyYaml(recommended.resource, { header, toolComments: recommended.comments }));
  return Promise.resolve(0);
}
