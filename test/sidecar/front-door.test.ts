// The one front door of the MCP endpoint, judged by what the upstream received: requests sent as raw
// bytes (absolute-form targets, percent-encoded and other spellings of the MCP path, Connection
// headers naming MCP headers, encoded bodies, charset tricks) never reach the upstream, and what does
// reach it carries the sidecar's own framing headers, not the client's.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { gzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { KEYS, startHarness, type Harness } from "../support/sidecar-harness.ts";
import { mcpPolicy } from "../support/policy-yaml.ts";
import { rawInitialize, rawPost, toolCall } from "../support/raw-mcp.ts";

const INIT = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
});

interface RawHttpAnswer {
  status: number;
  head: string;
  body: string;
}

/** Sends one request exactly as written (request line and headers), with `Connection: close`. */
function rawHttp(
  url: string,
  requestLine: string,
  headers: Record<string, string>,
  body: Buffer | string = "",
): Promise<RawHttpAnswer> {
  const { port } = new URL(url);
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const lines = [requestLine, "Host: 127.0.0.1", ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  if (!Object.keys(headers).some((k) => k.toLowerCase() === "connection")) lines.push("Connection: close");
  if (bytes.length > 0 || requestLine.startsWith("POST")) lines.push(`Content-Length: ${bytes.length}`);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => {
      chunks.push(c);
      // Answers that keep the connection open (a Connection header other than close) end at their body.
      const text = Buffer.concat(chunks).toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1];
      const chunked = /\r\ntransfer-encoding: *chunked/i.test(text.slice(0, end));
      if (end !== -1 && length !== undefined && text.length >= end + 4 + Number(length)) socket.end();
      if (end !== -1 && chunked && text.endsWith("\r\n0\r\n\r\n")) socket.end();
    });
    socket.on("error", reject);
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const end = text.indexOf("\r\n\r\n");
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0),
        head: text.slice(0, end),
        body: text.slice(end + 4),
      });
    });
    socket.write(Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1"), bytes]));
  });
}

const JSON_HEADERS = { "Content-Type": "application/json", Accept: "application/json, text/event-stream" };
const alice = { Authorization: `Bearer ${KEYS.alice}` };

describe("the front door", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      policy: mcpPolicy("default: allow"),
      config: { maxSessions: 10, maxSessionsPerGrant: 3 },
    });
  });
  after(() => h.close());

  /** Asserts the request gets `status` with a JSON-RPC error body and that the upstream received nothing. */
  const refused = async (
    status: number,
    requestLine: string,
    headers: Record<string, string>,
    body: Buffer | string = INIT,
  ) => {
    const before = h.upstream.requests.length;
    const answer = await rawHttp(h.sidecar.url, requestLine, headers, requestLine.startsWith("POST") ? body : "");
    assert.equal(answer.status, status, `${requestLine} ${JSON.stringify(headers)}: ${answer.body}`);
    const error = (JSON.parse(answer.body) as { error?: { code: number; message: string } }).error;
    assert.equal(typeof error?.message, "string", answer.body);
    assert.equal(h.upstream.requests.length, before, `${requestLine} reached the upstream`);
    return error?.message as string;
  };

  it("serves the exact MCP path to an authenticated caller (the control case)", async () => {
    const before = h.upstream.requests.length;
    const answer = await rawHttp(h.sidecar.url, "POST /mcp HTTP/1.1", { ...JSON_HEADERS, ...alice }, INIT);
    assert.equal(answer.status, 200, answer.body);
    assert.equal(h.upstream.requests.length, before + 1);
    assert.equal((await rawHttp(h.sidecar.url, "POST /mcp HTTP/1.1", JSON_HEADERS, INIT)).status, 401);
  });

  it("refuses absolute-form targets with 400, with a wrong key, a right key or none", async () => {
    for (const headers of [{}, { Authorization: "Bearer wrong" }, alice]) {
      for (const target of ["http://x/mcp", "http://127.0.0.1/mcp", "https://x/mcp?a=b"]) {
        for (const method of ["POST", "GET", "DELETE"]) {
          assert.match(
            await refused(400, `${method} ${target} HTTP/1.1`, { ...JSON_HEADERS, ...headers }),
            /origin-form/,
          );
        }
      }
    }
  });

  it("refuses every other spelling of the MCP path with 404, authenticated or not", async () => {
    const targets = [
      "/%6Dcp",
      "/%6dcp",
      "/m%63p",
      "/%6D%63%70",
      "//mcp",
      "/mcp/",
      "/mcp;x",
      "/MCP",
      "/Mcp",
      "/./mcp",
      "/x/../mcp",
      "/mcp%2F",
      "/mcp%00",
    ];
    for (const headers of [{}, alice]) {
      for (const target of targets) {
        for (const method of ["POST", "GET", "DELETE"]) {
          assert.match(
            await refused(404, `${method} ${target} HTTP/1.1`, { ...JSON_HEADERS, ...headers }),
            /Not found: the MCP endpoint is \/mcp/,
          );
        }
      }
    }
  });

  it("keeps CORS preflight working on the exact path only", async () => {
    const before = h.upstream.requests.length;
    const preflight = { Origin: "https://app.example", "Access-Control-Request-Method": "POST" };
    const answer = await rawHttp(h.sidecar.url, "OPTIONS /mcp HTTP/1.1", preflight);
    assert.notEqual(answer.status, 401);
    assert.equal(h.upstream.requests.length, before + 1, "the preflight was passed on");
    assert.equal(h.upstream.requests.at(-1)?.method, "OPTIONS");
    await refused(404, "OPTIONS /%6Dcp HTTP/1.1", preflight);
    await refused(400, "OPTIONS http://x/mcp HTTP/1.1", preflight);
    await refused(400, "OPTIONS /mcp HTTP/1.1", { ...preflight, Connection: "origin" });
  });

  it("refuses a Connection header that names any header, for POST, GET and DELETE", async () => {
    const session = await rawInitialize(h.sidecar.url, { authorization: `Bearer ${KEYS.alice}` });
    for (const named of [
      "mcp-session-id",
      "keep-alive, Mcp-Session-Id",
      "authorization",
      "mcp-protocol-version",
      "content-type",
      "x-custom",
    ]) {
      for (const method of ["POST", "GET", "DELETE"]) {
        const message = await refused(
          400,
          `${method} /mcp HTTP/1.1`,
          { ...JSON_HEADERS, ...alice, "Mcp-Session-Id": session, Connection: named },
          JSON.stringify(toolCall(2, "list_namespaces")),
        );
        assert.match(message, /Connection header may only say close or keep-alive/);
      }
    }
    const ok = await rawHttp(
      h.sidecar.url,
      "POST /mcp HTTP/1.1",
      {
        ...JSON_HEADERS,
        ...alice,
        "Mcp-Session-Id": session,
        "Mcp-Protocol-Version": "2025-03-26",
        Connection: "keep-alive",
      },
      JSON.stringify(toolCall(3, "list_namespaces")),
    );
    assert.equal(ok.status, 200, ok.body);
  });

  it("refuses a body with a Content-Encoding (415) and a Content-Type that is not plainly UTF-8 JSON", async () => {
    await refused(415, "POST /mcp HTTP/1.1", { ...JSON_HEADERS, ...alice, "Content-Encoding": "gzip" }, gzipSync(INIT));
    await refused(
      415,
      "POST /mcp HTTP/1.1",
      { ...JSON_HEADERS, ...alice, "Content-Encoding": "identity, deflate" },
      INIT,
    );
    for (const type of [
      'application/json; foo="; charset=utf-8"; charset=utf-7',
      "application/json; charset=utf-8; charset=utf-7",
      "application/json; charset=utf-7",
      "text/plain",
    ]) {
      await refused(415, "POST /mcp HTTP/1.1", { ...JSON_HEADERS, ...alice, "Content-Type": type }, INIT);
    }
  });

  it("asks for a body announced with Expect: 100-continue only after the caller is authenticated", async () => {
    const { port } = new URL(h.sidecar.url);
    /** Sends the head, waits for the first answer, then the body if the sidecar asked for it. */
    const expectContinue = (headers: Record<string, string>) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), "127.0.0.1");
        let received = "";
        socket.on("data", (c: Buffer) => {
          if (received === "" && c.toString("latin1").startsWith("HTTP/1.1 100 ")) socket.write(INIT);
          received += c.toString("latin1");
        });
        socket.on("error", reject);
        socket.on("close", () => resolve(received));
        const lines = [
          "POST /mcp HTTP/1.1",
          "Host: 127.0.0.1",
          "Expect: 100-continue",
          `Content-Length: ${INIT.length}`,
          "Connection: close",
          ...Object.entries({ ...JSON_HEADERS, ...headers }).map(([k, v]) => `${k}: ${v}`),
        ];
        socket.write(`${lines.join("\r\n")}\r\n\r\n`);
      });
    const before = h.upstream.requests.length;
    const refusedHeaders: Record<string, string>[] = [{}, { Authorization: "Bearer wrong" }];
    for (const headers of refusedHeaders) {
      const answer = await expectContinue(headers);
      assert.match(answer, /^HTTP\/1\.1 401 /, answer);
      assert.doesNotMatch(answer, /100 Continue/);
    }
    assert.equal(h.upstream.requests.length, before);
    const served = await expectContinue(alice);
    assert.match(served, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /, served);
    assert.equal(h.upstream.requests.length, before + 1);
  });

  it("sends the upstream the sidecar's own framing headers and forwarding headers, never the client's", async () => {
    const answer = await rawPost(h.sidecar.url, INIT, {
      authorization: `Bearer ${KEYS.alice}`,
      "content-type": "application/json; charset=utf-8; x=y",
      "content-encoding": "identity",
      "accept-encoding": "gzip, br",
      forwarded: "for=6.6.6.6;host=evil.example",
      "x-real-ip": "6.6.6.6",
      "x-forwarded-host": "evil.example",
    });
    assert.equal(answer.status, 200);
    const received = h.upstream.requests.at(-1)?.headers ?? {};
    assert.equal(received["content-type"], "application/json");
    assert.equal(received["content-encoding"], undefined);
    assert.equal(received["accept-encoding"], "identity");
    assert.equal(received.forwarded, undefined);
    assert.equal(received["x-real-ip"], undefined);
    assert.equal(received["x-forwarded-for"], "127.0.0.1");
    assert.equal(received["x-forwarded-host"], new URL(h.sidecar.url).host);
    assert.equal(received.authorization, undefined);
  });
});

describe("sessions per grant", () => {
  it("one caller flooding initializes never evicts another caller's sessions", async () => {
    const h = await startHarness({
      policy: mcpPolicy("default: allow"),
      config: { maxSessions: 6, maxSessionsPerGrant: 3 },
    });
    try {
      const aliceAuth = { authorization: `Bearer ${KEYS.alice}` };
      const mine = [await rawInitialize(h.sidecar.url, aliceAuth), await rawInitialize(h.sidecar.url, aliceAuth)];
      for (let i = 0; i < 20; i++) await rawInitialize(h.sidecar.url, { authorization: `Bearer ${KEYS.bob}` });
      assert.equal(h.sidecar.sessions.countOf("apikey:bob"), 3, "bob holds his quota, no more");
      for (const session of mine) {
        const answer = await rawPost(h.sidecar.url, toolCall(7, "list_namespaces"), {
          ...aliceAuth,
          "mcp-session-id": session,
          "mcp-protocol-version": "2025-03-26",
        });
        assert.equal(answer.status, 200, answer.text);
      }
    } finally {
      await h.close();
    }
  });
});
