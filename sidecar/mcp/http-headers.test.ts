import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connectionHeaderProblem, hasRequestContentEncoding, upstreamRequestHeaders } from "./http-headers.ts";

const FORWARDED = { remoteAddress: "10.0.0.7", host: "warden.example", proto: "http" as const };

describe("upstreamRequestHeaders", () => {
  const incoming = {
    "content-type": 'application/json; foo="; charset=utf-8"; charset=utf-7',
    "content-encoding": "gzip",
    "accept-encoding": "gzip, br",
    forwarded: "for=1.2.3.4;host=evil",
    "x-real-ip": "1.2.3.4",
    "x-forwarded-for": "1.2.3.4",
    "x-forwarded-host": "evil",
    "x-forwarded-proto": "https",
    authorization: "Bearer k",
    cookie: "c=1",
    "mcp-session-id": "s1",
    "mcp-protocol-version": "2025-06-18",
    accept: "application/json, text/event-stream",
  };

  it("never passes the client's body framing, credentials or forwarding claims; sets its own", () => {
    const out = upstreamRequestHeaders(incoming, FORWARDED, { jsonBody: true });
    assert.deepEqual(out, {
      "mcp-session-id": "s1",
      "mcp-protocol-version": "2025-06-18",
      accept: "application/json, text/event-stream",
      "accept-encoding": "identity",
      "content-type": "application/json",
      "x-forwarded-for": "1.2.3.4, 10.0.0.7",
      "x-forwarded-host": "warden.example",
      "x-forwarded-proto": "http",
    });
  });

  it("names no content type when the sidecar sends no body", () => {
    const out = upstreamRequestHeaders(incoming, FORWARDED, { jsonBody: false });
    assert.equal(out["content-type"], undefined);
    assert.equal(out["accept-encoding"], "identity");
  });
});

describe("connectionHeaderProblem", () => {
  it("accepts close and keep-alive only", () => {
    assert.equal(connectionHeaderProblem({}), undefined);
    assert.equal(connectionHeaderProblem({ connection: "Keep-Alive" }), undefined);
    assert.equal(connectionHeaderProblem({ connection: "close" }), undefined);
  });
  for (const value of [
    "mcp-session-id",
    "keep-alive, Mcp-Session-Id",
    "authorization",
    "content-type",
    "te",
    "upgrade",
    "x-anything",
  ]) {
    it(`refuses Connection: ${value}`, () =>
      assert.match(connectionHeaderProblem({ connection: value }) ?? "", /may only say close or keep-alive/));
  }
});

describe("hasRequestContentEncoding", () => {
  it("allows none or identity, refuses every coding", () => {
    assert.equal(hasRequestContentEncoding({}), false);
    assert.equal(hasRequestContentEncoding({ "content-encoding": "identity" }), false);
    for (const coding of ["gzip", "deflate", "br", "identity, gzip", "", "x-gzip"])
      assert.equal(hasRequestContentEncoding({ "content-encoding": coding }), true, coding);
  });
});
