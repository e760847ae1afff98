// Writes the CRDs generated from the zod schemas into crds/. Run after changing policy/schema.ts or
// policy/approval/schema.ts.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { MCP_APPROVAL_CRD_FILE, renderMcpApprovalCrdYaml } from "../operator/crd/mcpapproval-crd.ts";
import { MCP_POLICY_CRD_FILE, renderMcpPolicyCrdYaml } from "../operator/crd/mcppolicy-crd.ts";

const root = join(import.meta.dirname, "..");
for (const [file, text] of [
  [MCP_POLICY_CRD_FILE, renderMcpPolicyCrdYaml()],
  [MCP_APPROVAL_CRD_FILE, renderMcpApprovalCrdYaml()],
] as const) {
  const target = join(root, file);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, text);
  process.stdout.write(`wrote ${file}\n`);
}
