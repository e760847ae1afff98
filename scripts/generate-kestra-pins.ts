// Writes policy/catalog/kestra-pins.ts: the definition digest of each tool of the Kestra MCP server's
// tools/list as the project knows it (test/fixtures/kestra-tools-list.json), which `mcp-warden policy
// init --server kestra --pin` writes into spec.pins. Run after changing that fixture.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { kestraPinsSource } from "../policy/catalog/kestra-pins-source.ts";

const root = join(import.meta.dirname, "..");
const listing = JSON.parse(readFileSync(join(root, "test/fixtures/kestra-tools-list.json"), "utf8")) as {
  tools: unknown[];
};
writeFileSync(join(root, "policy/catalog/kestra-pins.ts"), kestraPinsSource(listing.tools));
process.stdout.write("wrote policy/catalog/kestra-pins.ts\n");
