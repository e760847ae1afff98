// What every mcp-warden CRD shares: one namespaced version with a status subresource, the
// mcp-warden category and labels, and a structural schema made from zod (spec and status).
import { stringify } from "yaml";
import type { z } from "zod";
import { API_GROUP, API_VERSION } from "../../policy/schema.ts";
import { toStructuralSchema } from "./structural-schema.ts";

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "date";
  jsonPath: string;
  description?: string;
  /** 1: shown by `kubectl get -o wide` only. */
  priority?: number;
}

export interface CustomResource {
  kind: string;
  plural: string;
  shortName: string;
  /** What the resource is, for `kubectl explain`. */
  description: string;
  printerColumns: PrinterColumn[];
  spec: z.ZodType;
  status: z.ZodType;
}

export function renderCustomResourceDefinition(resource: CustomResource): Record<string, unknown> {
  const { kind, plural } = resource;
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${plural}.${API_GROUP}`,
      labels: { "app.kubernetes.io/name": "mcp-warden", "app.kubernetes.io/part-of": "mcp-warden" },
    },
    spec: {
      group: API_GROUP,
      names: {
        kind,
        listKind: `${kind}List`,
        plural,
        singular: kind.toLowerCase(),
        shortNames: [resource.shortName],
        categories: ["mcp-warden"],
      },
      scope: "Namespaced",
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: resource.printerColumns,
          schema: {
            openAPIV3Schema: {
              type: "object",
              description: resource.description,
              required: ["spec"],
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                spec: toStructuralSchema(resource.spec),
                status: toStructuralSchema(resource.status),
              },
            },
          },
        },
      ],
    },
  };
}

/** The checked-in file: a header naming the schema it comes from, then the CRD as its own document. */
export function customResourceDefinitionYaml(crd: Record<string, unknown>, schemaFile: string): string {
  const header = `# Generated from ${schemaFile} by scripts/generate-crds.ts (npm run generate:crds). Do not edit.\n`;
  // A document start of its own: `helm show crds` joins the chart's CRD files without one.
  // YAML 1.1 quoting: kubectl reads YAML 1.1, where an unquoted Off (an enum value) is the boolean false.
  return header + "---\n" + stringify(crd, { lineWidth: 0, version: "1.1" });
}
