// `mcp-warden policy pin --url URL [--policy FILE] [--tool NAME]... [--header "Name: value"]...`: lists a
// running MCP server and writes its tools' definition digests into spec.pins.tools of the policy file
// (created with mode Enforce when absent; comments and the rest of the file are kept), after showing
// what changed: the diff of each changed definition against the reviewed definitions kept beside the
// policy (FILE.tools.json, written on every pin), new tools and pins of tools no longer listed.
// Without --policy it prints the spec.pins block. --tool limits the update to the named tools.
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { isMap, parseDocument, stringify } from "yaml";
import { definitionDiff } from "../policy/pins/definition-diff.ts";
import { definitionDigest, digestedDefinition } from "../policy/pins/definition-digest.ts";
import { headersOf, listServerTools, urlOf } from "./server-tools.ts";
import { UsageError } from "./usage-error.ts";

export const pinUsage = 'mcp-warden policy pin --url URL [--policy FILE] [--tool NAME]... [--header "Name: value"]...';

export async function runPolicyPin(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: "string" },
      policy: { type: "string" },
      tool: { type: "string", multiple: true, default: [] },
      header: { type: "string", multiple: true, default: [] },
    },
  });
  const url = urlOf(values.url, "policy pin");
  const headers = headersOf(values.header);
  const document = values.policy === undefined ? undefined : await readPolicy(values.policy);
  let listing;
  try {
    listing = await listServerTools(url, headers, "mcp-warden-pin");
  } catch (err) {
    process.stderr.write(`mcp-warden: cannot list the tools of ${url.href}: ${(err as Error).message}\n`);
    return 1;
  }
  const only = new Set(values.tool);
  for (const name of only) {
    if (!listing.tools.some((t) => t.name === name))
      throw new UsageError(`--tool ${name}: ${url.href} lists no such tool`);
  }
  const current = document ? currentPins(document) : {};
  const reviewedFile = values.policy === undefined ? undefined : `${values.policy}.tools.json`;
  const reviewed = reviewedFile ? await readReviewed(reviewedFile) : new Map<string, Record<string, unknown>>();
  const out = values.policy === undefined ? process.stderr : process.stdout;
  const { next, report } = comparePins(listing.tools, current, reviewed, only, reviewedFile);
  out.write(
    report.length > 0
      ? `${report.join("\n")}\n`
      : `every pin matches ${listing.server} at ${url.href} (${listing.tools.length} tools)\n`,
  );
  const sorted = Object.fromEntries(Object.entries(next).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  if (!document || values.policy === undefined || !reviewedFile) {
    process.stdout.write(stringify({ pins: { mode: "Enforce", tools: sorted } }, { version: "1.1" }));
    return 0;
  }
  if (document.hasIn(["spec", "pins"])) document.setIn(["spec", "pins", "tools"], document.createNode(sorted));
  else document.setIn(["spec", "pins"], document.createNode({ mode: "Enforce", tools: sorted }));
  await writeFile(values.policy, document.toString({ lineWidth: 0 }));
  await writeReviewed(reviewedFile, values.policy, reviewedAfter(reviewed, listing.tools, next, only));
  out.write(
    `wrote spec.pins (${Object.keys(sorted).length} tools) to ${values.policy} and the reviewed definitions to ${reviewedFile}\n`,
  );
  return 0;
}

type ListedTool = Record<string, unknown>;

/** The pins after this listing, and what changed: new tools, changed definitions (with their diff), dropped pins. */
function comparePins(
  tools: readonly ListedTool[],
  current: Record<string, string>,
  reviewed: Map<string, Record<string, unknown>>,
  only: Set<string>,
  reviewedFile: string | undefined,
): { next: Record<string, string>; report: string[] } {
  const next: Record<string, string> = { ...current };
  const report: string[] = [];
  for (const tool of tools) {
    const name = tool.name as string;
    if (only.size > 0 && !only.has(name)) continue;
    const digest = definitionDigest(tool);
    const pinned = current[name];
    next[name] = digest;
    if (pinned === digest) continue;
    if (pinned === undefined) {
      report.push(`new tool ${name}: pinned ${digest}`);
      continue;
    }
    const before = reviewed.get(name);
    const known = before !== undefined && definitionDigest(before) === pinned;
    report.push(
      `changed ${name}: ${pinned} -> ${digest}${known ? "" : " (the pinned definition is not in " + (reviewedFile ?? "a reviewed file") + ": showing the whole new definition)"}`,
    );
    report.push(definitionDiff(known ? before : undefined, digestedDefinition(tool), 64 * 1024));
  }
  if (only.size === 0) {
    for (const name of Object.keys(current)) {
      if (tools.some((t) => t.name === name)) continue;
      delete next[name];
      report.push(`removed ${name}: no longer listed (pin ${current[name]} dropped)`);
    }
  }
  return { next, report };
}

/** The reviewed definitions to keep beside the policy: those of the tools pinned now. */
function reviewedAfter(
  reviewed: Map<string, Record<string, unknown>>,
  tools: readonly ListedTool[],
  next: Record<string, string>,
  only: Set<string>,
): Map<string, Record<string, unknown>> {
  const kept = new Map(reviewed);
  for (const tool of tools)
    if (next[tool.name as string] !== undefined && (only.size === 0 || only.has(tool.name as string)))
      kept.set(tool.name as string, digestedDefinition(tool));
  for (const name of kept.keys()) if (next[name] === undefined) kept.delete(name);
  return kept;
}

async function writeReviewed(
  file: string,
  policyFile: string,
  kept: Map<string, Record<string, unknown>>,
): Promise<void> {
  await writeFile(
    file,
    `${JSON.stringify({ about: `Tool definitions reviewed and pinned in ${policyFile} (mcp-warden policy pin).`, tools: [...kept.values()] }, null, 1)}\n`,
  );
}

async function readPolicy(file: string) {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new UsageError(`--policy ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const document = parseDocument(text);
  if (document.errors.length > 0)
    throw new UsageError(`--policy ${file}: ${document.errors[0]?.message ?? "not YAML"}`);
  if (!isMap(document.get("spec"))) throw new UsageError(`--policy ${file}: not an McpPolicy (no spec)`);
  return document;
}

function currentPins(document: ReturnType<typeof parseDocument>): Record<string, string> {
  const tools: unknown = document.getIn(["spec", "pins", "tools"]);
  if (tools === undefined) return {};
  const json = isMap(tools) ? (tools.toJSON() as Record<string, unknown>) : undefined;
  if (!json) throw new UsageError("spec.pins.tools is not a map of tool names to digests");
  return Object.fromEntries(Object.entries(json).map(([k, v]) => [k, String(v)]));
}

async function readReviewed(file: string): Promise<Map<string, Record<string, unknown>>> {
  if (!existsSync(file)) return new Map();
  const parsed = JSON.parse(await readFile(file, "utf8")) as { tools?: Record<string, unknown>[] };
  return new Map((parsed.tools ?? []).map((t) => [String(t.name), t]));
}
