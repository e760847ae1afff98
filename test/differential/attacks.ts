// The attack cases of ADR 117, each run through a stack's sidecar. An attack sends its requests,
// returns how the answers differ from the documented behaviour (DESIGN.md: denied → 200 with an
// isError "[POLICY DENIED]" result; hidden → what the server answers for a tool it does not have; malformed → 4xx; missing or bad
// credentials → 401), and leaves the verdict on what the upstream ran to the case's judge.
import { gzipSync } from "node:zlib";
import { smuggle, UTF7_CONTENT_TYPE } from "./encodings.ts";
import { header, messagesIn, type HeaderList, type Json, type RawResponse } from "./raw-http.ts";
import { initializeMessage, mcpHeaders, PROTOCOL, toolCall, type Case, type Stack } from "./stack.ts";
import { ACTION_WAIT_MS, HUGE_COUNT, LIMIT_MAX, TOOLS } from "./stacks/catalogue.ts";

export interface Attack {
  readonly name: string;
  /** Deviations from the documented answers ([] when every answer is as documented). */
  run(stack: Stack, c: Case): Promise<string[]>;
}

const WRONG_KEY = "not-a-key-of-anyone-0000";
/** Rounds of the bogus-request case (one after another, so refunds can be spent). */
const ALIAS_ROUNDS = 10;
/** The tools/list–ping race is won or lost by timing: more rounds, all at once (they cost no wait). */
const LIST_ALIAS_ROUNDS = 24;
/** How long a read waits for an answer that the upstream may deliver on another request's stream. */
const ALIAS_READ_MS = 2500;
/** Rounds of the cancellation case, one after another (a refund is spent by the next round). */
const CANCEL_ROUNDS = 8;

function is4xx(res: RawResponse): boolean {
  return res.status >= 400 && res.status < 500;
}

/** A request that must not be served: refused for its credentials (401) or for its target (4xx). */
function expectRefused(what: string, res: RawResponse): string[] {
  return is4xx(res) ? [] : [`${what}: expected a 4xx refusal, got ${res.status} ${res.text.slice(0, 200)}`];
}

function expect401(what: string, res: RawResponse): string[] {
  return res.status === 401 ? [] : [`${what}: expected 401, got ${res.status} ${res.text.slice(0, 200)}`];
}

/** Nothing the sidecar sent the upstream since `since` (the refused requests never crossed). */
function nothingSent(stack: Stack, since: number, what: string): string[] {
  const sent = stack.tap.sentSince(since);
  return sent === "" ? [] : [`${what}: bytes reached the upstream: ${sent.slice(0, 300)}`];
}

function resultOf(res: RawResponse, id: unknown): Json | undefined {
  return messagesIn(res).find((m) => m.id === id);
}

function expectDenied(what: string, res: RawResponse, id: unknown): string[] {
  const m = resultOf(res, id);
  const result = m?.result as { isError?: boolean; content?: { text?: string }[] } | undefined;
  const ok =
    res.status === 200 && result?.isError === true && /^\[POLICY DENIED\]/.test(result.content?.[0]?.text ?? "");
  return ok
    ? []
    : [`${what}: expected 200 with an isError "[POLICY DENIED]" result, got ${res.status} ${res.text.slice(0, 200)}`];
}

/** What each stack answers (as an isError result) for a tool it does not have: what a hidden tool answers too. */
const MISSING_TOOL_TEXT = /^(Unknown tool: |MCP error -32602: Tool \S+ not found$)/;

/**
 * Refused before any policy or upstream: a 4xx, a policy denial, a JSON-RPC error, or the answer for
 * a tool the server does not have (never a result that ran).
 */
function expectRefusedOrDenied(what: string, res: RawResponse, id: unknown): string[] {
  if (is4xx(res)) return [];
  const m = resultOf(res, id);
  if (m?.error !== undefined) return [];
  const result = m?.result as { isError?: boolean; content?: { text?: string }[] } | undefined;
  if (res.status === 200 && result?.isError === true && MISSING_TOOL_TEXT.test(result.content?.[0]?.text ?? ""))
    return [];
  return expectDenied(what, res, id);
}

/** The request paths whose raw form is not the MCP path but which a lax router maps onto it. */
const SKEWED_TARGETS = (base: string) => {
  const port = new URL(base).port;
  return ["/%6Dcp", "/%6dcp", "/m%63p", "http://x/mcp", `http://127.0.0.1:${port}/mcp`];
};

async function frontDoor(stack: Stack, c: Case, key: string | null, targets: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  const victim = stack.caller();
  const victimSession = await c.initialize(victim);
  const auth: HeaderList = key === null ? [] : [["Authorization", `Bearer ${key}`]];
  const base: HeaderList = [
    ["Content-Type", "application/json"],
    ["Accept", "application/json, text/event-stream"],
    ...auth,
  ];
  const withSession = (session: string): HeaderList => [
    ...base,
    ["Mcp-Session-Id", session],
    ["Mcp-Protocol-Version", PROTOCOL],
  ];
  // The same requests on the MCP path itself: 401, as documented.
  const plain = await c.send({
    method: "POST",
    target: new URL(stack.sidecar.url).pathname,
    headers: base,
    body: JSON.stringify(initializeMessage()),
  });
  found.push(...expect401(`/mcp with ${key === null ? "no key" : "a wrong key"}: initialize`, plain));
  for (const target of targets) {
    const since = Date.now();
    const what = `${target} with ${key === null ? "no key" : "a wrong key"}`;
    const init = await c.send({ method: "POST", target, headers: base, body: JSON.stringify(initializeMessage()) });
    found.push(...expectRefused(`${what}: initialize`, init));
    const own = header(init, "mcp-session-id");
    for (const session of [own, victimSession]) {
      if (session === undefined) continue;
      const whose = session === own ? "its own session" : "another caller's session";
      await c.send({
        method: "POST",
        target,
        headers: withSession(session),
        body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
      });
      const listed = await c.send({
        method: "POST",
        target,
        headers: withSession(session),
        body: JSON.stringify(toolCall(9, TOOLS.list, { namespace: "dev" })),
      });
      found.push(...expectRefused(`${what}: tools/call ${TOOLS.list} on ${whose}`, listed));
      for (let i = 0; i < LIMIT_MAX + 2; i++) {
        const call = await c.send({
          method: "POST",
          target,
          headers: withSession(session),
          body: JSON.stringify(toolCall(10 + i, TOOLS.limited, { execution_id: `e-${i}` })),
        });
        if (i === 0) found.push(...expectRefused(`${what}: tools/call on ${whose}`, call));
      }
      const list = await c.send({
        method: "POST",
        target,
        headers: withSession(session),
        body: JSON.stringify({ jsonrpc: "2.0", id: 20, method: "tools/list" }),
      });
      found.push(...expectRefused(`${what}: tools/list on ${whose}`, list));
      const stream = await c.send({
        method: "GET",
        target,
        headers: [
          ["Accept", "text/event-stream"],
          ["Mcp-Session-Id", session],
          ["Mcp-Protocol-Version", PROTOCOL],
          ...auth,
        ],
        readMs: 800,
      });
      found.push(...expectRefused(`${what}: GET on ${whose}`, stream));
      const del = await c.send({
        method: "DELETE",
        target,
        headers: [["Mcp-Session-Id", session], ["Mcp-Protocol-Version", PROTOCOL], ...auth],
      });
      found.push(...expectRefused(`${what}: DELETE on ${whose}`, del));
    }
    found.push(...nothingSent(stack, since, what));
  }
  return found;
}

async function concurrently<T>(n: number, make: (i: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => make(i)));
}

export const ATTACKS: readonly Attack[] = [
  {
    // The control: proves the stack records executions and the sidecar answers as documented, so
    // the attack cases below cannot pass for want of a record.
    name: "control: allowed runs once, denied and hidden never, the limit admits exactly max",
    async run(stack, c) {
      const caller = stack.caller();
      const session = await c.initialize(caller);
      const found: string[] = [];
      const before = stack.executions().length;
      const allowed = await c.post(caller, session, toolCall(1, TOOLS.list, { namespace: "dev" }));
      if (!isPlainListResult(allowed, 1))
        found.push(`allowed call: expected the upstream's result, got ${allowed.status} ${allowed.text.slice(0, 200)}`);
      found.push(
        ...expectDenied(
          "denied tool",
          await c.post(caller, session, toolCall(2, TOOLS.denied, { execution_id: "e1" })),
          2,
        ),
      );
      const hidden = await c.post(caller, session, toolCall(3, TOOLS.hidden, { execution_id: "e1" }));
      const missing = await c.post(caller, session, toolCall(3, "no_such_tool", { execution_id: "e1" }));
      const alike = (res: RawResponse, tool: string) =>
        JSON.stringify(resultOf(res, 3) ?? null).replaceAll(tool, "<tool>");
      if (
        hidden.status !== 200 ||
        resultOf(hidden, 3) === undefined ||
        alike(hidden, TOOLS.hidden) !== alike(missing, "no_such_tool")
      ) {
        found.push(
          `hidden tool: expected 200 with the answer for a missing tool (${missing.text.slice(0, 200)}), got ${hidden.status} ${hidden.text.slice(0, 200)}`,
        );
      }
      const limited = [];
      for (let i = 0; i < LIMIT_MAX + 1; i++)
        limited.push(await c.post(caller, session, toolCall(4 + i, TOOLS.limited, { execution_id: `e-${i}` })));
      const last = resultOf(limited[LIMIT_MAX] as RawResponse, 4 + LIMIT_MAX)?.result as
        { content?: { text?: string }[] } | undefined;
      if (!/^\[RATE LIMITED\]/.test(last?.content?.[0]?.text ?? ""))
        found.push(`call ${LIMIT_MAX + 1} of the limited tool: expected [RATE LIMITED], got ${JSON.stringify(last)}`);
      const ran = stack
        .executions()
        .slice(before)
        .map((e) => e.tool);
      const expected = [TOOLS.list, ...Array<string>(LIMIT_MAX).fill(TOOLS.limited)];
      if (JSON.stringify(ran) !== JSON.stringify(expected))
        found.push(`the record holds ${JSON.stringify(ran)}, expected ${JSON.stringify(expected)}`);
      return found;
    },
  },
  {
    name: "front door: a percent-encoded MCP path (/%6Dcp, /m%63p) runs no authentication",
    run: (stack, c) =>
      frontDoor(
        stack,
        c,
        null,
        SKEWED_TARGETS(stack.sidecar.url).filter((t) => t.startsWith("/")),
      ),
  },
  {
    name: "front door: an absolute-form target (POST http://x/mcp) with no key and with a wrong key",
    async run(stack, c) {
      const targets = SKEWED_TARGETS(stack.sidecar.url).filter((t) => t.startsWith("http"));
      return [...(await frontDoor(stack, c, null, targets)), ...(await frontDoor(stack, c, WRONG_KEY, targets))];
    },
  },
  {
    name: "charset: a UTF-7 body under a quoted charset=utf-8 smuggles a hidden-tool call",
    async run(stack, c) {
      const caller = stack.caller();
      const session = await c.initialize(caller);
      const found: string[] = [];
      for (const [i, inner] of [
        `"name":"${TOOLS.hidden}","arguments":{"execution_id":"e1"}`,
        `"name":"${TOOLS.denied}","arguments":{"execution_id":"e1"}`,
      ].entries()) {
        const body = smuggle(toolCall(30 + i, TOOLS.list, { namespace: "dev" }), ["params"], inner);
        const headers: HeaderList = mcpHeaders(caller, session).map(([n, v]) =>
          n === "Content-Type" ? [n, UTF7_CONTENT_TYPE] : [n, v],
        );
        const res = await c.post(caller, session, body, headers);
        found.push(
          ...expectRefusedOrDenied(`UTF-7 smuggled ${inner.slice(8, 40)}`, res, 30 + i).filter(
            () => !isPlainListResult(res, 30 + i),
          ),
        );
      }
      return found;
    },
  },
  {
    name: "charset: a UTF-7 body swaps the arguments a CEL rule checked",
    async run(stack, c) {
      const caller = stack.caller();
      const session = await c.initialize(caller);
      const headers: HeaderList = mcpHeaders(caller, session).map(([n, v]) =>
        n === "Content-Type" ? [n, UTF7_CONTENT_TYPE] : [n, v],
      );
      const swaps: [Json, string][] = [
        [toolCall(40, TOOLS.flagged, { namespace: "dev", auto_create: false }), '"auto_create":true'],
        [toolCall(41, TOOLS.counted, { count: 5 }), `"count":${HUGE_COUNT}`],
        [toolCall(42, TOOLS.targets, { execution_ids: ["e1"] }), '"execution_ids":[]'],
      ];
      for (const [message, inner] of swaps)
        await c.post(caller, session, smuggle(message, ["params", "arguments"], inner), headers);
      return [];
    },
  },
  {
    name: 'request ids: "1001" (tools/list) and 1001 (ping) at once in one session never show a hidden tool',
    async run(stack, c) {
      const caller = stack.caller();
      const session = await c.initialize(caller);
      // An answer delivered on another request's stream leaves its own stream open: reads are cut short.
      const quick = (body: Json) => c.post(caller, session, body, mcpHeaders(caller, session), ALIAS_READ_MS);
      await concurrently(LIST_ALIAS_ROUNDS, async (round) => {
        const id = 1001 + round;
        await Promise.all([
          quick({ jsonrpc: "2.0", id: String(id), method: "tools/list" }),
          quick({ jsonrpc: "2.0", id, method: "ping" }),
        ]);
      });
      return [];
    },
  },
  {
    name: `request ids: a bogus request sharing a tools/call's id does not buy more than ${LIMIT_MAX} calls`,
    async run(stack, c) {
      const caller = stack.caller();
      const session = await c.initialize(caller);
      const quick = (body: Json) => c.post(caller, session, body, mcpHeaders(caller, session), ALIAS_READ_MS);
      // Rounds one after another, so a refund of one round's call is there for the next round to
      // use. Where an answer goes to the other request's stream, that round waits out ALIAS_READ_MS.
      for (let round = 0; round < ALIAS_ROUNDS; round++) {
        const id = 2000 + round;
        const bogusId = round % 2 === 0 ? id : String(id);
        await Promise.all([
          quick({ jsonrpc: "2.0", id: bogusId, method: "bogus/method", params: {} }),
          quick(toolCall(id, TOOLS.limited, { execution_id: `e-${round}` })),
        ]);
      }
      return [];
    },
  },
  {
    // A client cancelling its own tools/call while the tool runs: the Python SDK answers the call with
    // a JSON-RPC error ("Request cancelled") once the tool is done or stopped, and an error answer
    // refunds the rate limit; the tool (or what it started) ran all the same.
    name: `cancellation: cancelling one's own running tools/call does not buy more than ${LIMIT_MAX} calls`,
    async run(stack, c) {
      const caller = stack.caller();
      let session = await c.initialize(caller);
      const cancel = (id: number, on: string) =>
        c.post(
          caller,
          on,
          { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: id, reason: "changed my mind" } },
          mcpHeaders(caller, on),
          1000,
        );
      for (let round = 0; round < CANCEL_ROUNDS; round++) {
        const id = 3000 + round;
        const on = session;
        const call = c.post(
          caller,
          on,
          toolCall(id, TOOLS.limited, { execution_id: `c-${round}` }),
          mcpHeaders(caller, on),
          1500,
        );
        // Cancelled after the action started, before it completed.
        await new Promise((r) => setTimeout(r, ACTION_WAIT_MS / 2));
        const [res] = await Promise.all([call, cancel(id, on)]);
        // An upstream may end a session whose request was cancelled: the caller simply opens another.
        if (res.status === 404 || /Session not found|HTTP 404/.test(res.text)) session = await c.initialize(caller);
      }
      return [];
    },
  },
  {
    // Ending one's own session while a call runs: the upstream drops the call's stream, which must not
    // count as a failure that gives the budget back.
    name: `cancellation: deleting one's session while a tools/call runs does not buy more than ${LIMIT_MAX} calls`,
    async run(stack, c) {
      const caller = stack.caller();
      for (let round = 0; round < CANCEL_ROUNDS; round++) {
        const session = await c.initialize(caller);
        const call = c.post(
          caller,
          session,
          toolCall(3100 + round, TOOLS.limited, { execution_id: `d-${round}` }),
          mcpHeaders(caller, session),
          1500,
        );
        await new Promise((r) => setTimeout(r, ACTION_WAIT_MS / 2));
        const end = c.send({
          method: "DELETE",
          target: new URL(stack.sidecar.url).pathname,
          headers: [
            ["Authorization", `Bearer ${caller.key}`],
            ["Mcp-Session-Id", session],
            ["Mcp-Protocol-Version", PROTOCOL],
          ],
        });
        await Promise.all([call, end]);
      }
      return [];
    },
  },
  {
    name: "odd JSON: escaped keys, __proto__, lone surrogates, BOM, array params, method with result, odd ids",
    async run(stack, c) {
      const caller = stack.caller();
      const session = await c.initialize(caller);
      const found: string[] = [];
      const H = TOOLS.hidden;
      const bodies: [string, number | null][] = [
        [
          `{"jsonrpc":"2.0","id":400,"method":"tools/call","params":{"n\\u0061me":"${H}","arguments":{"execution_id":"e1"}}}`,
          400,
        ],
        [
          `{"jsonrpc":"2.0","id":401,"method":"tools/call","params":{"name":"${TOOLS.list}","arguments":{"namespace":"dev"},"__proto__":{"name":"${H}"}}}`,
          null,
        ],
        [
          `{"jsonrpc":"2.0","id":402,"method":"tools/call","params":{"name":"${TOOLS.list}","arguments":{"__proto__":{"namespace":"x"},"namespace":"dev"}}}`,
          null,
        ],
        [
          `{"jsonrpc":"2.0","id":403,"method":"tools/call","params":{"name":"${H}\\ud800","arguments":{"execution_id":"e1"}}}`,
          403,
        ],
        [
          `\ufeff{"jsonrpc":"2.0","id":404,"method":"tools/call","params":{"name":"${H}","arguments":{"execution_id":"e1"}}}`,
          404,
        ],
        [`{"jsonrpc":"2.0","id":405,"method":"tools/call","params":["${H}",{"execution_id":"e1"}]}`, 405],
        [
          `{"jsonrpc":"2.0","id":406,"method":"tools/call","params":{"name":"${H}","arguments":{"execution_id":"e1"}},"result":{}}`,
          406,
        ],
        [`{"jsonrpc":"2.0","id":407,"result":{},"params":{"name":"${H}","arguments":{"execution_id":"e1"}}}`, null],
        [
          `{"jsonrpc":"2.0","id":408.0,"method":"tools/call","params":{"name":"${H}","arguments":{"execution_id":"e1"}}}`,
          408,
        ],
        [
          `{"jsonrpc":"2.0","id":-0,"method":"tools/call","params":{"name":"${TOOLS.denied}","arguments":{"execution_id":"e1"}}}`,
          0,
        ],
        [
          `{"jsonrpc":"2.0","id":1e300,"method":"tools/call","params":{"name":"${TOOLS.denied}","arguments":{"execution_id":"e1"}}}`,
          1e300,
        ],
        [
          `{"jsonrpc":"1.0","id":409,"method":"tools/call","params":{"name":"${H}","arguments":{"execution_id":"e1"}}}`,
          409,
        ],
        [
          `{"jsonrpc":"2.0","id":410,"method":"tools/call","params":{"name":"${TOOLS.flagged}","arguments":{"namespace":"dev","auto_create":false,"auto\\u005fcreate":true}}}`,
          410,
        ],
        [
          `{"jsonrpc":"2.0","id":411,"method":"tools/call","params":{"name":"${TOOLS.targets}","arguments":{"execution_ids":"[]"}}}`,
          411,
        ],
        [
          `{"jsonrpc":"2.0","id":412,"method":"tools/call","params":{"name":"${TOOLS.flagged}","arguments":{"namespace":"dev","auto_create":"true"}}}`,
          412,
        ],
        [
          `{"jsonrpc":"2.0","id":413,"method":"tools/call","params":{"name":"${TOOLS.list}","arguments":{"namespace":"dev"},"_meta":{"fastmcp":{"version":"0"}},"name ":"${H}"}}`,
          null,
        ],
      ];
      for (const [body, id] of bodies) {
        const res = await c.post(caller, session, body);
        if (id !== null) found.push(...expectRefusedOrDenied(body.slice(0, 90), res, id));
      }
      return found;
    },
  },
  {
    name: "odd HTTP: duplicate and folded session headers, chunk extensions, another caller's session",
    async run(stack, c) {
      const victim = stack.caller();
      const attacker = stack.caller();
      const victimSession = await c.initialize(victim);
      const own = await c.initialize(attacker);
      const found: string[] = [];
      const path = new URL(stack.sidecar.url).pathname;
      const call = JSON.stringify(toolCall(500, TOOLS.list, { namespace: "dev" }));
      const base: HeaderList = [
        ["Content-Type", "application/json"],
        ["Accept", "application/json, text/event-stream"],
        ["Authorization", `Bearer ${attacker.key}`],
        ["Mcp-Protocol-Version", PROTOCOL],
      ];
      const variants: [string, HeaderList][] = [
        ["two session headers (own, victim)", [...base, ["Mcp-Session-Id", own], ["Mcp-Session-Id", victimSession]]],
        ["two session headers (victim, own)", [...base, ["Mcp-Session-Id", victimSession], ["Mcp-Session-Id", own]]],
        ["victim's session", [...base, ["Mcp-Session-Id", victimSession]]],
        ["victim's session, upper case", [...base, ["MCP-SESSION-ID", victimSession.toUpperCase()]]],
        ["underscored header", [...base, ["Mcp_Session_Id", victimSession]]],
      ];
      for (const [what, headers] of variants) {
        const res = await c.send({ method: "POST", target: path, headers, body: call });
        if (resultOf(res, 500)?.result !== undefined && what !== "underscored header")
          found.push(`${what}: the call ran: ${res.status}`);
      }
      const chunked = `${call.length.toString(16)};ext="x"\r\n${call}\r\n0\r\n\r\n`;
      await c.send({
        method: "POST",
        target: path,
        headers: [...base, ["Mcp-Session-Id", own], ["Transfer-Encoding", "chunked"]],
        body: chunked,
      });
      const smuggled = `${call}POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{}`;
      await c.send({
        method: "POST",
        target: path,
        headers: [
          ...base,
          ["Mcp-Session-Id", own],
          ["Content-Length", String(call.length)],
          ["Transfer-Encoding", "chunked"],
        ],
        body: smuggled,
      });
      for (const method of ["GET", "DELETE"]) {
        const res = await c.send({
          method,
          target: path,
          headers: [
            ["Authorization", `Bearer ${attacker.key}`],
            ["Accept", "text/event-stream"],
            ["Mcp-Session-Id", victimSession],
            ["Mcp-Protocol-Version", PROTOCOL],
          ],
          readMs: 800,
        });
        if (!is4xx(res)) found.push(`${method} on another caller's session: ${res.status}`);
      }
      const after = await c.post(victim, victimSession, toolCall(501, TOOLS.list, { namespace: "dev" }));
      if (resultOf(after, 501)?.result === undefined)
        found.push(`the victim's session no longer works: ${after.status} ${after.text.slice(0, 200)}`);
      return found;
    },
  },
  {
    name: "stall: 24 KB against a format: url rule while /healthz keeps answering within 100 ms",
    async run(stack, c) {
      const caller = stack.caller();
      const session = await c.initialize(caller);
      const slowest = { ms: 0 };
      let polling = true;
      const poll = (async () => {
        while (polling) {
          const started = performance.now();
          await fetch(`${stack.sidecar.adminUrl}/healthz`).then((r) => r.text());
          slowest.ms = Math.max(slowest.ms, performance.now() - started);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      await new Promise((r) => setTimeout(r, 100));
      const res = await c.post(
        caller,
        session,
        toolCall(50, TOOLS.formatted, { source: `http://${":".repeat(24 * 1024)}` }),
      );
      await new Promise((r) => setTimeout(r, 100));
      polling = false;
      await poll;
      const found = expectRefusedOrDenied("24 KB non-URL", res, 50);
      if (slowest.ms >= 100) found.push(`/healthz took ${slowest.ms.toFixed(0)} ms while the argument was validated`);
      return found;
    },
  },
  {
    name: 'coercion: auto_create as "true", 1, "1", "True", "yes" does not get past a denyIf on true',
    async run(stack, c) {
      const caller = stack.caller();
      const session = await c.initialize(caller);
      for (const [i, value] of ["true", 1, "1", "True", "yes", 1.0].entries())
        await c.post(caller, session, toolCall(60 + i, TOOLS.flagged, { namespace: "dev", auto_create: value }));
      return [];
    },
  },
  {
    name: 'empty targets: [] and "" never reach a tool that acts on the latest execution when given none',
    async run(stack, c) {
      const caller = stack.caller();
      const session = await c.initialize(caller);
      const found: string[] = [];
      const empty = [
        toolCall(70, TOOLS.targets, { execution_ids: [] }),
        toolCall(71, TOOLS.limited, { execution_id: "" }),
        toolCall(72, TOOLS.targets, { execution_ids: "" }),
      ];
      for (const message of empty)
        found.push(
          ...expectRefusedOrDenied(
            `empty target ${JSON.stringify((message.params as Json).arguments)}`,
            await c.post(caller, session, message),
            message.id,
          ),
        );
      return found;
    },
  },
  {
    name: `integers: ${HUGE_COUNT} (beyond 2^53) does not slip past a denyIf that names it`,
    async run(stack, c) {
      const caller = stack.caller();
      const session = await c.initialize(caller);
      const found: string[] = [];
      const bodies = [
        `${HUGE_COUNT}`,
        "1152921504606846999",
        "1152921504606847000.0",
        "1.152921504606847e18",
        "11529215046068470000e-1",
      ];
      for (const [i, literal] of bodies.entries()) {
        const body = `{"jsonrpc":"2.0","id":${80 + i},"method":"tools/call","params":{"name":"${TOOLS.counted}","arguments":{"count":${literal}}}}`;
        const res = await c.post(caller, session, body);
        if (i === 0) found.push(...expectRefusedOrDenied(`count ${literal}`, res, 80));
      }
      return found;
    },
  },
  {
    name: "sessions: one caller's initializes do not evict another caller's session",
    async run(stack, c) {
      const a = stack.caller();
      const b = stack.caller();
      const sessionA = await c.initialize(a);
      // B's initializes may be refused once B is over a quota of its own: only A's session is judged.
      for (let i = 0; i < 12; i++) await c.post(b, undefined, initializeMessage(100 + i));
      const res = await c.post(a, sessionA, toolCall(90, TOOLS.list, { namespace: "dev" }));
      const ran = resultOf(res, 90)?.result !== undefined;
      return res.status === 200 && ran
        ? []
        : [`caller A's session after caller B's 12 initializes: ${res.status} ${res.text.slice(0, 200)}`];
    },
  },
  {
    name: "identity: a JWT whose sub is an API-key caller's name is not that caller (sessions, budgets)",
    async run(stack, c) {
      const found: string[] = [];
      const holder = stack.caller();
      const session = await c.initialize(holder);
      for (const sub of [holder.grant, `apikey:${holder.grant}`]) {
        const namesake = await stack.jwtCaller(sub);
        const res = await c.post(namesake, session, toolCall(140, TOOLS.list, { namespace: "dev" }));
        if (!is4xx(res))
          found.push(
            `a JWT with sub "${sub}" used the session of API-key caller ${holder.grant}: ${res.status} ${res.text.slice(0, 200)}`,
          );
      }
      // The namesake spends its own budget, not the key holder's.
      const namesake = await stack.jwtCaller(holder.grant);
      const own = await c.initialize(namesake);
      for (let i = 0; i < LIMIT_MAX; i++)
        await c.post(namesake, own, toolCall(150 + i, TOOLS.limited, { execution_id: `jwt-${i}` }));
      const holderCall = await c.post(holder, session, toolCall(160, TOOLS.limited, { execution_id: "key-0" }));
      if (!isResult(holderCall, 160, `${TOOLS.limited} ran`))
        found.push(
          `after a JWT namesake spent ${LIMIT_MAX} calls, API-key caller ${holder.grant} was refused its first: ${holderCall.text.slice(0, 200)}`,
        );
      c.limitedCallers(2);
      return found;
    },
  },
  {
    name: "fragile: a request body with Content-Encoding gzip is refused (415), never inflated upstream",
    async run(stack, c) {
      const caller = stack.caller();
      const session = await c.initialize(caller);
      const since = Date.now();
      const found: string[] = [];
      const hidden = JSON.stringify(toolCall(100, TOOLS.hidden, { execution_id: "e1" }));
      const plain = JSON.stringify(toolCall(101, TOOLS.list, { namespace: "dev" }));
      for (const [what, body] of [
        ["gzip of a hidden call", gzipSync(hidden)],
        ["plain JSON labelled gzip", Buffer.from(plain)],
      ] as const) {
        const res = await c.post(caller, session, body, [...mcpHeaders(caller, session), ["Content-Encoding", "gzip"]]);
        if (res.status !== 415) found.push(`${what}: expected 415, got ${res.status} ${res.text.slice(0, 200)}`);
      }
      if (/content-encoding/i.test(stack.tap.sentSince(since)))
        found.push("a request Content-Encoding header reached the upstream");
      return found;
    },
  },
  {
    name: "fragile: look-alike method names (tools/call\\u0000, tools/call , Tools/call) do not run tools",
    async run(stack, c) {
      const caller = stack.caller();
      const session = await c.initialize(caller);
      for (const [i, method] of [
        "tools/call\u0000",
        "tools/call ",
        "Tools/call",
        "tools/call\u200b",
        "tools//call",
        "tools/cal\u006c\u0000x",
      ].entries()) {
        await c.post(caller, session, {
          jsonrpc: "2.0",
          id: 110 + i,
          method,
          params: { name: TOOLS.hidden, arguments: { execution_id: "e1" } },
        });
      }
      return [];
    },
  },
  {
    name: "fragile: Connection: mcp-session-id does not separate the session the sidecar checked from the one the upstream gets",
    async run(stack, c) {
      const a = stack.caller();
      const sessionA = await c.initialize(a);
      const since = Date.now();
      const res = await c.post(a, sessionA, toolCall(120, TOOLS.list, { namespace: "dev" }), [
        ...mcpHeaders(a, sessionA),
        ["Connection", "close, mcp-session-id"],
      ]);
      const sent = stack.tap.sentSince(since);
      if (is4xx(res)) return [];
      return sent.includes("tools/call") && !sent.toLowerCase().includes(sessionA.toLowerCase())
        ? [`a tools/call reached the upstream without the session the sidecar checked (${res.status})`]
        : [];
    },
  },
  {
    name: "fragile: Forwarded and X-Real-IP from the client do not reach the upstream",
    async run(stack, c) {
      const caller = stack.caller();
      const since = Date.now();
      // X-Forwarded-For is the chain the sidecar appends to (the client's hops stay, by convention);
      // Forwarded and X-Real-IP are single claims a client must not be able to make to the upstream.
      const spoof: HeaderList = [
        ["Forwarded", "for=203.0.113.66;host=evil.example"],
        ["X-Real-IP", "203.0.113.77"],
      ];
      const res = await c.post(caller, undefined, initializeMessage(), [...mcpHeaders(caller), ...spoof]);
      const session = header(res, "mcp-session-id");
      if (session)
        await c.post(caller, session, toolCall(130, TOOLS.list, { namespace: "dev" }), [
          ...mcpHeaders(caller, session),
          ...spoof,
        ]);
      const sent = stack.tap.sentSince(since);
      return ["203.0.113.66", "evil.example", "203.0.113.77"]
        .filter((v) => sent.includes(v))
        .map((v) => `the client-supplied ${v} (Forwarded or X-Real-IP) reached the upstream`);
    },
  },
];

function isResult(res: RawResponse, id: number, text: string): boolean {
  const result = resultOf(res, id)?.result as { isError?: boolean; content?: { text?: string }[] } | undefined;
  return result !== undefined && result.isError !== true && result.content?.[0]?.text === text;
}

function isPlainListResult(res: RawResponse, id: number): boolean {
  return isResult(res, id, `${TOOLS.list} ran`);
}
