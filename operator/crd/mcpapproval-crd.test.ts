import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { MCP_APPROVAL_CRD_FILE, renderMcpApprovalCrd, renderMcpApprovalCrdYaml } from "./mcpapproval-crd.ts";
import type { JsonSchemaProps } from "./structural-schema.ts";

const root = join(import.meta.dirname, "..", "..");

describe("McpApproval CRD", () => {
  it("is checked in exactly as generated from policy/approval/schema.ts (run npm run generate:crds)", () => {
    assert.equal(readFileSync(join(root, MCP_APPROVAL_CRD_FILE), "utf8"), renderMcpApprovalCrdYaml());
  });

  it("has the status subresource, short name, category and the printer columns Tool, Caller, Decision, Age", () => {
    const crd = parse(renderMcpApprovalCrdYaml()) as {
      spec: { names: Record<string, unknown>; versions: Array<Record<string, unknown>> };
    };
    assert.deepEqual(crd.spec.names.shortNames, ["mcpa"]);
    assert.deepEqual(crd.spec.names.categories, ["mcp-warden"]);
    const version = crd.spec.versions[0] as {
      subresources: unknown;
      additionalPrinterColumns: Array<{ name: string; priority?: number }>;
    };
    assert.deepEqual(version.subresources, { status: {} });
    assert.deepEqual(
      version.additionalPrinterColumns.filter((c) => !c.priority).map((c) => c.name),
      ["Tool", "Caller", "Decision", "Age"],
    );
  });

  it("is structural and carries the immutability rules on spec and status", () => {
    const version = (
      renderMcpApprovalCrd().spec as { versions: Array<{ schema: { openAPIV3Schema: JsonSchemaProps } }> }
    ).versions[0];
    const schema = version!.schema.openAPIV3Schema;
    const problems: string[] = [];
    const walk = (node: JsonSchemaProps, path: string) => {
      for (const banned of ["$ref", "anyOf", "oneOf", "allOf", "not", "const"])
        if (banned in node) problems.push(`${path}: ${banned}`);
      if (node.type === undefined && node["x-kubernetes-preserve-unknown-fields"] !== true)
        problems.push(`${path}: no type`);
      for (const [name, child] of Object.entries((node.properties ?? {}) as Record<string, JsonSchemaProps>))
        walk(child, `${path}.${name}`);
    };
    walk(schema, "");
    assert.deepEqual(problems, []);
    const props = schema.properties as Record<string, JsonSchemaProps>;
    const rules = (node: JsonSchemaProps | undefined) =>
      (node?.["x-kubernetes-validations"] as Array<{ rule: string }>).map((r) => r.rule);
    assert.ok(
      rules(props.spec).some(
        (r) => r.includes("self.argsDigest == oldSelf.argsDigest") && r.includes("self.session == oldSelf.session"),
      ),
    );
    assert.ok(rules(props.spec).some((r) => r.includes("oldSelf.use")));
    assert.ok(rules(props.status).includes("!has(oldSelf.decision) || self == oldSelf"));
  });
});
