// The official Python `mcp` client (test/python/mcp_client.py) run over a script of MCP operations: one
// session, one JSON line per operation, after a first line for `initialize`.
import assert from "node:assert/strict";
import { PYTHON_DIR, runPeer, venvPython } from "./processes.ts";

export type PythonClientLine = { ok: Record<string, unknown> } | { error: { code: number; message: string } };

export async function runPythonClient(
  url: string,
  script: readonly (readonly [string, Record<string, unknown>])[],
  token?: string,
): Promise<PythonClientLine[]> {
  const args = [`${PYTHON_DIR}mcp_client.py`, url, ...(token ? ["--token", token] : [])];
  const result = await runPeer(venvPython(), args, { input: JSON.stringify(script), timeoutMs: 60_000 });
  assert.equal(result.code, 0, `python client failed:\n${result.stderr.slice(-3000)}`);
  return result.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as PythonClientLine);
}
