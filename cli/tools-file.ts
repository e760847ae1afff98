// `--tools FILE`: a saved tools/list answer of the MCP server (e.g. `test/fixtures/kestra-tools-list.json`),
// so offline commands check `arguments: strict` as the sidecar does with what it learns from the server.
import { readFile } from "node:fs/promises";
import { declaredSchemasOf, type DeclaredInputSchemas } from "../policy/input-schemas.ts";
import { UsageError } from "./usage-error.ts";

export async function readToolsFile(file: string | undefined): Promise<DeclaredInputSchemas | undefined> {
  if (file === undefined) return undefined;
  let document: unknown;
  try {
    document = JSON.parse(await readFile(file, "utf8"));
  } catch (err) {
    throw new UsageError(`--tools ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const declared = declaredSchemasOf(document);
  if ("problem" in declared) throw new UsageError(`--tools ${file} ${declared.problem}`);
  return declared;
}
