// `mcp-warden policy import FILE.json --name N [--namespace NS]`: a PolicyLayer v1 document as an
// McpPolicy resource with the same behaviour (conditions become CEL).
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { compilePolicy } from "../policy/compile.ts";
import { loadPolicyObject, parsePolicyText } from "../policy/load.ts";
import { PolicyError } from "../policy/paths.ts";
import { renderPolicyYaml } from "../policy/render.ts";
import { API_GROUP, API_VERSION, KIND, type McpPolicyResourceType } from "../policy/schema.ts";
import { printProblems } from "./policy-file.ts";
import { UsageError } from "./usage-error.ts";

export const importUsage = "mcp-warden policy import FILE.json --name N [--namespace NS]";

export async function runPolicyImport(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { name: { type: "string" }, namespace: { type: "string" } },
  });
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new UsageError("policy import needs exactly one FILE");
  if (!values.name) throw new UsageError("policy import needs --name N");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    printProblems(file, [
      { path: [], message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` },
    ]);
    return 1;
  }
  try {
    const loaded = parsePolicyText(text, values.name);
    if (loaded.format !== "PolicyLayer") {
      printProblems(file, [{ path: [], message: "is already an McpPolicy; import converts PolicyLayer v1 documents" }]);
      return 1;
    }
    compilePolicy(loaded); // import only what would load
    const resource: McpPolicyResourceType = {
      apiVersion: `${API_GROUP}/${API_VERSION}`,
      kind: KIND,
      metadata: values.namespace ? { name: values.name, namespace: values.namespace } : { name: values.name },
      spec: loaded.spec,
    };
    compilePolicy(loadPolicyObject(resource, values.name)); // and the result must load too
    process.stdout.write(
      renderPolicyYaml(resource, { header: `Imported from ${file} (PolicyLayer v1) by mcp-warden policy import.` }),
    );
    return 0;
  } catch (err) {
    if (err instanceof PolicyError) {
      printProblems(file, err.problems);
      return 1;
    }
    throw err;
  }
}
