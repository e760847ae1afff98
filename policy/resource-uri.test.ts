import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { targetHidden } from "./decide-target.ts";
import { mcpPolicy, mcpPolicyText, problemsOf } from "./testing.ts";
import { MAX_RESOURCE_URI_LENGTH, normalResourceUri, uriReadings } from "./resource-uri.ts";

const normal = (uri: string): string | undefined => {
  const n = normalResourceUri(uri);
  return n.ok ? n.uri : undefined;
};

describe("normalResourceUri", () => {
  it("lower-cases scheme and host, decodes unreserved escapes, upper-cases the others", () => {
    assert.equal(normal("FILE:///secret/x"), "file:///secret/x");
    assert.equal(normal("Demo://Host.Example/Path/X"), "demo://host.example/Path/X");
    assert.equal(normal("file:///%73ecret/%7e%41"), "file:///secret/~A");
    assert.equal(normal("file:///a%20b%c3%a9"), "file:///a%20b%C3%A9");
    assert.equal(normal("urn:example:a"), "urn:example:a");
    assert.equal(normal("kestra://flows/{namespace}/{id}"), "kestra://flows/{namespace}/{id}");
    assert.equal(normal("file:///public/"), "file:///public/");
  });

  it("refuses what a server could read as another resource", () => {
    for (const uri of [
      "file:///public/../secret/x",
      "file:///public/%2e%2e/secret/x",
      "file:///public/%2E./secret",
      "file:///public/./x",
      "file:///public/x?/../../secret",
      "file:///public//x",
      "file:////secret/x",
      "file:///public/x%2fy",
      "file:///public\\..\\secret",
      "file:///public/%252e%252e/secret",
      "file:///x%00.txt",
      "file:///x\u0000",
      "file:///x\n",
      `file:///${"a".repeat(MAX_RESOURCE_URI_LENGTH)}`,
    ])
      assert.equal(normal(uri), undefined, uri);
  });

  it("is idempotent", () => {
    for (const uri of ["FILE:///%73ecret/x?A=%2b", "demo://H/x#F"])
      assert.equal(normal(normal(uri) as string), normal(uri));
  });
});

describe("uriReadings", () => {
  it("adds the URI without query, fragment and trailing slash", () => {
    assert.deepEqual(uriReadings("file:///secret/x/?a#b"), [
      "file:///secret/x/?a#b",
      "file:///secret/x/",
      "file:///secret/x",
    ]);
    assert.deepEqual(uriReadings("file:///"), ["file:///"]);
    assert.deepEqual(uriReadings("demo://h/"), ["demo://h/", "demo://h"]);
  });
});

describe("resources: rules in normal form", () => {
  it("a rule whose URI is not in normal form is a policy problem", () => {
    const problems = (uri: string) =>
      problemsOf(
        mcpPolicyText(`
resources:
  rules:
    - uri: "${uri}"
      action: deny
`),
      ).join("\n");
    assert.equal(problems("file:///secret/*"), "");
    assert.match(problems("FILE:///Secret/*"), /write the URI in normal form: "file:\/\/\/Secret\/\*"/);
    assert.match(problems("file:///public/../secret"), /no request can match it because it contains a dot segment/);
  });
});

describe("lists in normal form", () => {
  it("a listed resource in another spelling of a hidden one is hidden, one with no normal form too", () => {
    const policy = mcpPolicy(`
resources:
  default: allow
  rules:
    - uri: "file:///secret/*"
      action: hide
    - uri: "file:///notes.txt"
      action: hide
`);
    for (const uri of [
      "File:///secret/x",
      "file:///%73ecret/x",
      "file:///notes.txt?v=2",
      "file:///notes.txt/",
      "file:///public/../secret/x",
      "file:///secret/{path}",
    ]) {
      assert.equal(targetHidden(policy, "resource", uri), true, uri);
    }
    for (const uri of ["file:///public/x", "file:///public/{path}"])
      assert.equal(targetHidden(policy, "resource", uri), false, uri);
  });
});
