import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { z } from "zod";
import { MCP_POLICY_CRD_FILE, renderMcpPolicyCrd, renderMcpPolicyCrdYaml } from "./mcppolicy-crd.ts";
import { StructuralSchemaError, toStructuralSchema, type JsonSchemaProps } from "./structural-schema.ts";

const root = join(import.meta.dirname, "..", "..");

describe("McpPolicy CRD", () => {
  it("is checked in exactly as generated from policy/schema.ts (run npm run generate:crds)", () => {
    const checkedIn = readFileSync(join(root, MCP_POLICY_CRD_FILE), "utf8");
    assert.equal(checkedIn, renderMcpPolicyCrdYaml());
  });

  it("has the status subresource, short name, category and printer columns", () => {
    const crd = parse(renderMcpPolicyCrdYaml()) as {
      spec: { names: Record<string, unknown>; versions: Array<Record<string, unknown>> };
    };
    assert.deepEqual(crd.spec.names.shortNames, ["mcpp"]);
    assert.deepEqual(crd.spec.names.categories, ["mcp-warden"]);
    const version = crd.spec.versions[0] as {
      subresources: unknown;
      additionalPrinterColumns: Array<{ name: string }>;
    };
    assert.deepEqual(version.subresources, { status: {} });
    assert.deepEqual(
      version.additionalPrinterColumns.map((c) => c.name),
      ["Mode", "Default", "Ready", "Reason", "Selected", "Enforced", "Age"],
    );
  });

  it("is structural: every node typed, no unions, refs or closed-object markers", () => {
    const problems: string[] = [];
    const walk = (node: JsonSchemaProps, path: string) => {
      for (const banned of ["$ref", "anyOf", "oneOf", "allOf", "not", "const", "$defs"]) {
        if (banned in node) problems.push(`${path}: ${banned}`);
      }
      if (node.additionalProperties === false) problems.push(`${path}: additionalProperties false`);
      if (node.type === undefined && node["x-kubernetes-preserve-unknown-fields"] !== true)
        problems.push(`${path}: no type`);
      for (const [name, child] of Object.entries((node.properties ?? {}) as Record<string, JsonSchemaProps>))
        walk(child, `${path}.${name}`);
      if (node.items) walk(node.items as JsonSchemaProps, `${path}[]`);
      if (typeof node.additionalProperties === "object")
        walk(node.additionalProperties as JsonSchemaProps, `${path}{}`);
    };
    const version = (renderMcpPolicyCrd().spec as { versions: Array<{ schema: { openAPIV3Schema: JsonSchemaProps } }> })
      .versions[0];
    walk(version!.schema.openAPIV3Schema, "");
    assert.deepEqual(problems, []);
  });

  it("keeps tool arguments free-form and tool names unique", () => {
    const yaml = renderMcpPolicyCrdYaml();
    const crd = parse(yaml) as Record<string, unknown>;
    const tools = dig(crd, [
      "spec",
      "versions",
      0,
      "schema",
      "openAPIV3Schema",
      "properties",
      "spec",
      "properties",
      "tools",
    ]) as JsonSchemaProps;
    assert.equal(tools["x-kubernetes-list-type"], "map");
    assert.deepEqual(tools["x-kubernetes-list-map-keys"], ["name"]);
    const args = dig(tools, ["items", "properties", "arguments"]) as JsonSchemaProps;
    assert.deepEqual(
      { type: args.type, preserve: args["x-kubernetes-preserve-unknown-fields"] },
      { type: "object", preserve: true },
    );
    const rules = dig(tools, ["items", "x-kubernetes-validations"]) as Array<{ fieldPath: string }>;
    assert.deepEqual(
      rules.map((r) => r.fieldPath),
      [".require", ".denyIf", ".limits", ".arguments", ".results", ".approval"],
    );
  });
});

describe("toStructuralSchema", () => {
  it("refuses type unions with the path of the node", () => {
    assert.throws(
      () => toStructuralSchema(z.strictObject({ a: z.strictObject({ b: z.union([z.string(), z.number()]) }) })),
      (err: unknown) => err instanceof StructuralSchemaError && /\.a\.b: JSON Schema keyword "anyOf"/.test(err.message),
    );
  });

  it("turns free-form values into preserve-unknown-fields and drops closed-object markers", () => {
    const out = toStructuralSchema(
      z.strictObject({ free: z.record(z.string(), z.unknown()), any: z.unknown().optional() }),
    );
    assert.deepEqual(out, {
      type: "object",
      properties: {
        free: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        any: { "x-kubernetes-preserve-unknown-fields": true },
      },
      required: ["free"],
    });
  });

  it("keeps defaults optional and passes CRD extensions through", () => {
    const out = toStructuralSchema(
      z.strictObject({
        n: z.int().min(1).default(3),
        list: z.array(z.string()).meta({ "x-kubernetes-list-type": "set" }),
      }),
    );
    assert.deepEqual(out.required, ["list"]);
    assert.deepEqual((out.properties as Record<string, unknown>).n, { default: 3, type: "integer", minimum: 1 });
    assert.equal(
      ((out.properties as Record<string, JsonSchemaProps>).list as JsonSchemaProps)["x-kubernetes-list-type"],
      "set",
    );
  });
});

function dig(value: unknown, path: Array<string | number>): unknown {
  return path.reduce<unknown>((v, key) => (v as Record<string | number, unknown>)[key], value);
}
