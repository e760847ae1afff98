import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseContentType } from "./content-type.ts";
import { isJsonRequestContentType } from "./http-headers.ts";

describe("parseContentType (RFC 9110)", () => {
  it("reads the media type case-insensitively and parameters with quoted-strings unescaped", () => {
    const parsed = parseContentType('Application/JSON ; Charset="utf-8" ;x="a\\"b;c=d"');
    assert.equal(parsed.ok, true);
    if (!parsed.ok) return;
    assert.equal(parsed.mediaType.essence, "application/json");
    assert.deepEqual(
      [...parsed.mediaType.parameters],
      [
        ["charset", "utf-8"],
        ["x", 'a"b;c=d'],
      ],
    );
  });

  it("allows empty parameters, as the grammar does", () => {
    assert.equal(parseContentType("application/json;;").ok, true);
    assert.equal(parseContentType("application/json; ; charset=utf-8").ok, true);
  });

  it("refuses a parameter named twice, whatever the case", () => {
    assert.deepEqual(parseContentType("application/json; charset=utf-8; CHARSET=utf-7"), {
      ok: false,
      problem: 'parameter "charset" appears twice',
    });
  });

  for (const bad of [
    "application",
    "application/",
    "/json",
    "application/json charset=utf-8",
    "application/json; charset",
    "application/json; charset=",
    'application/json; x="open',
    "application/json; x=a b",
    'application/json; x="\u0001"',
    "application/json; =x",
    "appli cation/json",
    'application/json; x="\\\u0001"',
  ]) {
    it(`refuses ${JSON.stringify(bad)}`, () => assert.equal(parseContentType(bad).ok, false));
  }
});

describe("isJsonRequestContentType", () => {
  const accepted = [
    "application/json",
    "application/json; charset=utf-8",
    'application/json;charset="UTF-8"',
    "APPLICATION/JSON; foo=bar",
  ];
  const refused = [
    undefined,
    "",
    "text/json",
    "application/json-seq",
    "application/json; charset=utf-7",
    "application/json; charset=utf8", // not the registered name
    'application/json; foo="; charset=utf-8"; charset=utf-7', // the charset hidden in a quoted-string is not the charset
    'application/json; foo="; charset=utf-8"; charset=utf-8; charset=utf-7',
    "application/json; charset=utf-8; charset=utf-8",
    "application/json; charset=utf-8, text/plain",
  ];
  for (const type of accepted)
    it(`accepts ${JSON.stringify(type)}`, () => assert.equal(isJsonRequestContentType(type), true));
  for (const type of refused)
    it(`refuses ${JSON.stringify(type)}`, () => assert.equal(isJsonRequestContentType(type), false));
});
