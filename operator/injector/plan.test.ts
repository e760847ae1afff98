import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { imageRepository } from "./plan.ts";
import { parsePortRef, readOverrides } from "./overrides.ts";

describe("imageRepository", () => {
  it("drops tags and digests but keeps registry ports", () => {
    assert.equal(imageRepository("ghcr.io/kestra-io/mcp-server-python:0.4.1"), "ghcr.io/kestra-io/mcp-server-python");
    assert.equal(
      imageRepository("ghcr.io/kestra-io/mcp-server-python@sha256:abc"),
      "ghcr.io/kestra-io/mcp-server-python",
    );
    assert.equal(
      imageRepository("registry.local:5000/kestra-io/mcp-server-python:1@sha256:abc"),
      "registry.local:5000/kestra-io/mcp-server-python",
    );
    assert.equal(imageRepository("registry.local:5000/x"), "registry.local:5000/x");
  });
});

describe("override annotations", () => {
  it("accepts port names and numbers as Kubernetes does", () => {
    assert.deepEqual(parsePortRef("8080"), { number: 8080 });
    assert.deepEqual(parsePortRef("http-alt"), { name: "http-alt" });
    for (const bad of ["0", "65536", "http-", "-http", "a--b", "UPPER", "waytoolongportname"]) {
      assert.equal(parsePortRef(bad), undefined, bad);
    }
  });

  it("ignores other prefixes and reports every problem at once", () => {
    assert.deepEqual(readOverrides({ "example.com/port": "x", "mcpwarden.io/admin-port": "9191" }), {
      ok: true,
      overrides: { adminPort: 9191 },
    });
    const r = readOverrides({ "mcpwarden.io/admin-port": "nine", "mcpwarden.io/container": "Server" });
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.problems.length, 2);
  });
});
