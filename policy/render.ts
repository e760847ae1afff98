// McpPolicy resources as YAML people read and edit: stable key order, one comment per tool rule.
import { Document, isSeq, type YAMLMap } from "yaml";
import type { McpPolicyResourceType } from "./schema.ts";

export function renderPolicyYaml(
  resource: McpPolicyResourceType,
  options: { header?: string; toolComments?: readonly (string | undefined)[] } = {},
): string {
  const doc = new Document(resource);
  if (options.header)
    doc.commentBefore = options.header
      .split("\n")
      .map((l) => ` ${l}`)
      .join("\n");
  const tools = doc.getIn(["spec", "tools"], true);
  if (isSeq(tools) && options.toolComments) {
    tools.items.forEach((item, i) => {
      const comment = options.toolComments?.[i];
      if (comment) (item as YAMLMap).commentBefore = ` ${comment}`;
    });
  }
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}
