import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { compilePolicy } from "./compile.ts";
import { admitToolCall, decideToolCall, evaluateToolCall, refundToolCall } from "./decide.ts";
import { parsePolicyText } from "./load.ts";
import { SlidingWindowMemoryStore } from "./ratelimit/memory-store.ts";
import type { RateLimitStore } from "./ratelimit/store.ts";
import { call, caller, mcpPolicy } from "./testing.ts";

function clockedStore(start = 1_000_000) {
  const clock = { now: start };
  return { clock, store: new SlidingWindowMemoryStore({ now: () => clock.now }) };
}

const kestraExample = (file: string) =>
  compilePolicy(parsePolicyText(readFileSync(new URL(`../examples/${file}`, import.meta.url), "utf8"), file));

describe("the two Kestra examples from the PolicyLayer reference", () => {
  for (const [file, tool, counter] of [
    ["kestra-resume.policylayer.json", "resume_execution", "resume_execution_rate"],
    ["kestra-restart.policylayer.json", "restart_execution", "restart_execution_rate"],
  ] as const) {
    test(`${tool} stays usable but capped at 10 per minute per grant; everything else is denied`, async () => {
      const policy = kestraExample(file);
      const { clock, store } = clockedStore();
      for (let i = 0; i < 10; i++) {
        const d = await decideToolCall(policy, call(tool, { execution_id: `e${i}` }), store);
        assert.equal(d.decision, "allowed", `call ${i + 1}`);
        assert.equal(d.rule, `/tools/${tool}`);
        clock.now += 1_000;
      }
      const limited = await decideToolCall(policy, call(tool), store);
      assert.equal(limited.decision, "rate_limited");
      assert.equal(limited.reason, "limit_exceeded");
      assert.equal(limited.rule, `/tools/${tool}/limits/0`);
      assert.equal(limited.retryAfterSeconds, 50, "the first call leaves the window 60 s after it was admitted");
      assert.match(
        limited.message,
        new RegExp(`at most 10 calls per minute per caller \\(counter ${counter}\\)\\. Retry after 50 seconds\\.`),
      );

      assert.equal(
        (await decideToolCall(policy, call(tool, {}, caller("bob")), store)).decision,
        "allowed",
        "another grant has its own budget",
      );
      clock.now += 50_000;
      assert.equal(
        (await decideToolCall(policy, call(tool), store)).decision,
        "allowed",
        "room again once the window slid",
      );

      for (const other of [
        "delete_flow_logs",
        "force_run_execution",
        "list_flows",
        tool === "resume_execution" ? "restart_execution" : "resume_execution",
      ]) {
        const denied = await decideToolCall(policy, call(other), store);
        assert.deepEqual(
          [denied.decision, denied.reason, denied.rule],
          ["denied", "default_deny", "(default deny)"],
          other,
        );
        assert.ok(
          denied.message.startsWith(`Tool '${other}' is not allowed by policy '${file}' (default deny).`),
          denied.message,
        );
      }
    });
  }
});

describe("precedence: hide > deny > approve > allow; exact beats glob; default decides the rest", () => {
  const policy = mcpPolicy(`
default: allow
hide: [secret_*, exposed]
tools:
  - {name: manage_flow, action: allow}
  - {name: 'manage_*', action: deny, reason: "Management tools are off limits."}
  - {name: 'resume_*', action: approve}
  - {name: '*_execution', action: deny}
  - {name: 'list_*', action: allow}
  - {name: '*_flows', action: approve}
  - {name: 'get_*', limits: [{counter: gets, window: minute, max: 1}]}
  - {name: '*_info', limits: [{counter: infos, window: minute, max: 5}]}
`);
  const decide = (tool: string) => evaluateToolCall(policy, call(tool));

  test("hidden tools are denied as hidden whatever the other rules say", () => {
    for (const tool of ["secret_keys", "exposed"]) {
      const d = decide(tool);
      assert.deepEqual([d.decision, d.reason, d.rule], ["denied", "hidden", "(hidden)"], tool);
    }
  });
  test("an exact rule beats any glob", () => {
    assert.equal(decide("manage_flow").decision, "allowed");
    assert.equal(decide("manage_flow").rule, "/spec/tools/0");
  });
  test("a glob deny applies, with its reason", () => {
    const d = decide("manage_kv_store");
    assert.deepEqual(
      [d.decision, d.reason, d.rule, d.message],
      ["denied", "tool_denied", "/spec/tools/1", "Management tools are off limits."],
    );
  });
  test("among matching globs the strictest action wins: deny over approve", () => {
    const d = decide("resume_execution");
    assert.deepEqual([d.decision, d.rule], ["denied", "/spec/tools/3"]);
  });
  test("approve over allow", () => {
    const d = decide("list_flows");
    assert.deepEqual([d.decision, d.reason, d.rule], ["approval_required", "approval_required", "/spec/tools/5"]);
    assert.equal(decide("list_namespaces").decision, "allowed");
  });
  test("allow globs that match together combine their limits", () => {
    assert.deepEqual(
      decide("get_instance_info").plan.limits.map((l) => l.counter),
      ["gets", "infos"],
    );
  });
  test("unlisted tools get the default", () => {
    const d = decide("search_logs");
    assert.deepEqual([d.decision, d.reason, d.rule], ["allowed", "default_allow", "(default allow)"]);
  });
});

describe("argument rules apply after the tool is allowed", () => {
  const policy = mcpPolicy(`
tools:
  - name: manage_kv_store
    reason: "Only reads of dev namespaces."
    require: ["args.namespace.startsWith('dev.')"]
    denyIf: ["args.action in ['set', 'delete']"]
  - name: namespace_file_action
    denyIf: ["has(args.action) && args.action != 'get'"]
  - name: manage_executions
    require: ["args.action == 'get'"]
  - name: execute_flow
    arguments:
      type: object
      required: [namespace, flow_id]
      properties:
        namespace: {type: string, pattern: '^dev\\.'}
        flow_id: {type: string}
        inputs: {type: object}
      additionalProperties: false
    denyIf: ["caller.groups.exists(g, g == 'interns')"]
`);
  const decide = (tool: string, args: Record<string, unknown>, who = caller("alice")) =>
    evaluateToolCall(policy, call(tool, args, who));

  test("require and denyIf", () => {
    assert.equal(decide("manage_kv_store", { namespace: "dev.a", action: "get", key: "k" }).decision, "allowed");
    const notDev = decide("manage_kv_store", { namespace: "prod.a", action: "get" });
    assert.deepEqual(
      [notDev.decision, notDev.reason, notDev.rule, notDev.message],
      ["denied", "require_failed", "/spec/tools/0/require/0", "Only reads of dev namespaces."],
    );
    const write = decide("manage_kv_store", { namespace: "dev.a", action: "set" });
    assert.deepEqual(
      [write.decision, write.reason, write.rule],
      ["denied", "deny_if_matched", "/spec/tools/0/denyIf/0"],
    );
  });
  test("without a reason the message quotes the rule so the agent can fix its call", () => {
    const d = decide("manage_executions", { action: "delete", execution_id: "x" });
    assert.equal(d.message, "Call to 'manage_executions' denied: the arguments must satisfy `args.action == 'get'`.");
    const f = decide("namespace_file_action", { namespace: "n", path: "p", action: "delete" });
    assert.equal(
      f.message,
      "Call to 'namespace_file_action' denied by policy because `has(args.action) && args.action != 'get'`.",
    );
  });
  test("namespace_file_action defaults to get when action is omitted, so omission is allowed", () => {
    assert.equal(decide("namespace_file_action", { namespace: "n", path: "p" }).decision, "allowed");
  });
  test("a rule that cannot be evaluated denies and says why (fail closed)", () => {
    const d = decide("manage_executions", { execution_id: "x" });
    assert.deepEqual([d.decision, d.reason, d.rule], ["denied", "evaluation_error", "/spec/tools/2/require/0"]);
    assert.match(d.message, /the policy rule `args\.action == 'get'` could not be evaluated \(.*action.*\)/);
    const wrongType = decide("manage_kv_store", { namespace: 42, action: "get" });
    assert.equal(wrongType.reason, "evaluation_error");
  });
  test("JSON Schema validation of arguments", () => {
    assert.equal(decide("execute_flow", { namespace: "dev.x", flow_id: "f" }).decision, "allowed");
    const missing = decide("execute_flow", { namespace: "dev.x" });
    assert.deepEqual(
      [missing.decision, missing.reason, missing.rule],
      ["denied", "invalid_arguments", "/spec/tools/3/arguments"],
    );
    assert.equal(
      missing.message,
      "Arguments of 'execute_flow' rejected by policy: arguments must have required property 'flow_id'.",
    );
    assert.match(
      decide("execute_flow", { namespace: "prod.x", flow_id: "f" }).message,
      /\/namespace must match pattern/,
    );
    assert.match(
      decide("execute_flow", { namespace: "dev.x", flow_id: "f", wait: true }).message,
      /must NOT have additional properties/,
    );
  });
  test("caller attributes reach CEL", () => {
    const intern = caller("bob", { groups: ["interns"] });
    assert.equal(decide("execute_flow", { namespace: "dev.x", flow_id: "f" }, intern).reason, "deny_if_matched");
  });
});

describe("rate limits", () => {
  test("a counter named in several places is one budget, and allTools limits apply everywhere", async () => {
    const policy = mcpPolicy(`
default: allow
allTools: {limits: [{counter: all, window: minute, max: 5}]}
tools:
  - {name: restart_execution, limits: [{counter: executions, window: minute, max: 2}]}
  - {name: resume_execution, limits: [{counter: executions, window: minute, max: 2}]}
`);
    const { store } = clockedStore();
    const d = async (tool: string) => (await decideToolCall(policy, call(tool), store)).decision;
    assert.equal(await d("restart_execution"), "allowed");
    assert.equal(await d("resume_execution"), "allowed");
    assert.equal(await d("restart_execution"), "rate_limited", "the shared executions budget is spent");
    assert.equal(await d("list_flows"), "allowed", "3rd call against 'all' (the limited call consumed nothing)");
    assert.equal(await d("list_flows"), "allowed");
    assert.equal(await d("list_flows"), "allowed");
    const over = await decideToolCall(policy, call("list_flows"), store);
    assert.deepEqual([over.decision, over.rule], ["rate_limited", "/spec/allTools/limits/0"]);
  });

  test("all limits of a call are checked together and consumed only if all pass", async () => {
    const policy = mcpPolicy(`
allTools: {limits: [{counter: all, window: minute, max: 100}]}
tools:
  - {name: a, limits: [{counter: tight, window: minute, max: 1}]}
`);
    const { store } = clockedStore();
    assert.equal((await decideToolCall(policy, call("a"), store)).decision, "allowed");
    for (let i = 0; i < 10; i++)
      assert.equal((await decideToolCall(policy, call("a"), store)).decision, "rate_limited");
    const checks = [{ key: "all|grant|alice", windowMs: 60_000, max: 2 }];
    assert.equal(store.consume(checks).admitted, true, "the 10 refused calls did not draw on 'all'");
    assert.equal(store.consume(checks).admitted, false);
  });

  test("denied calls consume nothing", async () => {
    const policy = mcpPolicy(`
tools:
  - {name: a, require: ["args.ok == true"], limits: [{counter: c, window: minute, max: 1}]}
`);
    const { store } = clockedStore();
    for (let i = 0; i < 5; i++)
      assert.equal((await decideToolCall(policy, call("a", { ok: false }), store)).decision, "denied");
    assert.equal((await decideToolCall(policy, call("a", { ok: true }), store)).decision, "allowed");
  });

  test("scopes: grant, session (falling back to the grant without a session) and global", async () => {
    const policy = mcpPolicy(`
tools:
  - {name: g, limits: [{window: minute, max: 1, scope: grant}]}
  - {name: s, limits: [{window: minute, max: 1, scope: session}]}
  - {name: o, limits: [{window: minute, max: 1, scope: global}]}
`);
    const { store } = clockedStore();
    const d = async (tool: string, grant: string, session?: string) =>
      (await decideToolCall(policy, call(tool, {}, caller(grant), session), store)).decision;
    assert.equal(await d("g", "alice"), "allowed");
    assert.equal(await d("g", "alice", "s1"), "rate_limited");
    assert.equal(await d("g", "bob"), "allowed");
    assert.equal(await d("s", "alice", "s1"), "allowed");
    assert.equal(await d("s", "alice", "s1"), "rate_limited");
    assert.equal(await d("s", "alice", "s2"), "allowed");
    assert.equal(await d("s", "carol"), "allowed");
    assert.equal(await d("s", "carol"), "rate_limited", "no session: the grant's budget");
    assert.equal(await d("o", "alice"), "allowed");
    assert.equal(await d("o", "bob"), "rate_limited");
  });

  test("a refunded call gives its budget back, unless the limit opts out", async () => {
    const policy = mcpPolicy(`
tools:
  - {name: a, limits: [{counter: refunded, window: minute, max: 1}, {counter: kept, window: minute, max: 2, refundOnError: false}]}
`);
    const { store } = clockedStore();
    const first = await decideToolCall(policy, call("a"), store);
    assert.deepEqual(first.reservation?.keys, ["refunded|grant|alice"]);
    await refundToolCall(first, store);
    assert.equal((await decideToolCall(policy, call("a"), store)).decision, "allowed", "refunded budget is back");
    const third = await decideToolCall(policy, call("a"), store);
    assert.deepEqual([third.decision, third.rule], ["rate_limited", "/spec/tools/0/limits/0"]);
    await refundToolCall({ ...first }, store);
    await refundToolCall({ ...first }, store); // a double refund changes nothing more
    const fourth = await decideToolCall(policy, call("a"), store);
    assert.deepEqual(
      [fourth.decision, fourth.rule],
      ["rate_limited", "/spec/tools/0/limits/1"],
      "'kept' was never refunded",
    );
  });

  test("refundOn names the failures each limit gives back; refundOnError is its older spelling", async () => {
    const policy = mcpPolicy(`
tools:
  - name: a
    limits:
      - {counter: both, window: minute, max: 5, refundOn: [upstreamError, toolError]}
      - {counter: upstream, window: minute, max: 5}
      - {counter: tool, window: minute, max: 5, refundOn: [toolError]}
      - {counter: none, window: minute, max: 5, refundOn: []}
      - {counter: old, window: minute, max: 5, refundOnError: true}
      - {counter: oldOff, window: minute, max: 5, refundOnError: false}
      - {counter: newWins, window: minute, max: 5, refundOn: [toolError], refundOnError: true}
`);
    const { store } = clockedStore();
    const admission = await decideToolCall(policy, call("a"), store);
    assert.deepEqual(
      admission.reservation?.keys.map((k) => k.split("|")[0]),
      ["both", "upstream", "old"],
    );
    assert.deepEqual(
      admission.toolErrorReservation?.keys.map((k) => k.split("|")[0]),
      ["both", "tool", "newWins"],
    );
    assert.equal(admission.toolErrorReservation?.token, admission.reservation?.token);
    assert.equal(await refundToolCall(admission, store, "toolError"), true);
    const none = await decideToolCall(
      mcpPolicy("tools: [{name: b, limits: [{window: minute, max: 1, refundOn: []}]}]"),
      call("b"),
      store,
    );
    assert.equal(await refundToolCall(none, store, "toolError"), false, "nothing to give back");
    assert.equal(await refundToolCall(none, store, "upstreamError"), false);
  });

  test("a tool error refunds only the limits that list toolError", async () => {
    const policy = mcpPolicy(`
tools:
  - {name: a, limits: [{counter: c, window: minute, max: 1, refundOn: [upstreamError, toolError]}]}
  - {name: b, limits: [{counter: d, window: minute, max: 1}]}
`);
    const { store } = clockedStore();
    const a = await decideToolCall(policy, call("a"), store);
    await refundToolCall(a, store, "toolError");
    assert.equal(
      (await decideToolCall(policy, call("a"), store)).decision,
      "allowed",
      "the isError call was given back",
    );
    const b = await decideToolCall(policy, call("b"), store);
    assert.equal(await refundToolCall(b, store, "toolError"), false);
    assert.equal(
      (await decideToolCall(policy, call("b"), store)).decision,
      "rate_limited",
      "without toolError the isError call counts",
    );
  });

  test("refundOn rejects a class it does not know, and a class listed twice", () => {
    assert.throws(
      () => mcpPolicy("tools: [{name: a, limits: [{window: minute, max: 1, refundOn: [toolErrors]}]}]"),
      /refundOn/,
    );
    assert.throws(
      () => mcpPolicy("tools: [{name: a, limits: [{window: minute, max: 1, refundOn: [toolError, toolError]}]}]"),
      /twice/,
    );
  });

  test("reloading a policy keeps the counters of unchanged counters", async () => {
    const v1 = mcpPolicy("tools: [{name: a, limits: [{counter: c, window: minute, max: 2}]}]");
    const v2 = mcpPolicy("tools: [{name: b}, {name: a, limits: [{counter: c, window: minute, max: 2}]}]");
    const { store } = clockedStore();
    assert.equal((await decideToolCall(v1, call("a"), store)).decision, "allowed");
    assert.equal((await decideToolCall(v1, call("a"), store)).decision, "allowed");
    assert.equal((await decideToolCall(v2, call("a"), store)).decision, "rate_limited");
  });

  test("a store failure fails closed by default, open when the policy says so", async () => {
    const broken: RateLimitStore = {
      consume: () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:6379")),
      refund: () => undefined,
      close: () => Promise.resolve(),
    };
    const closed = await decideToolCall(
      mcpPolicy("tools: [{name: a, limits: [{window: minute, max: 5}]}]"),
      call("a"),
      broken,
    );
    assert.deepEqual(
      [closed.decision, closed.reason, closed.retryAfterSeconds],
      ["rate_limited", "store_unavailable", 5],
    );
    assert.match(closed.message, /rate-limit store is unavailable.*ECONNREFUSED/);
    const open = await decideToolCall(
      mcpPolicy("rateLimit: {failMode: open}\ntools: [{name: a, limits: [{window: minute, max: 5}]}]"),
      call("a"),
      broken,
    );
    assert.deepEqual([open.decision, open.reason], ["allowed", "store_unavailable"]);
    const noLimits = await decideToolCall(mcpPolicy("tools: [{name: a}]"), call("a"), broken);
    assert.equal(noLimits.decision, "allowed", "calls without limits never touch the store");
  });
});

describe("approval", () => {
  const policy = mcpPolicy(`
tools:
  - name: resume_execution
    action: approve
    approval: {timeout: 2m, ttl: 10m, via: both}
    denyIf: ["has(args.on_resume) && args.on_resume == 'kill'"]
    limits: [{counter: resumes, window: minute, max: 1}]
`);
  test("argument rules run before a call is sent for approval", () => {
    assert.equal(evaluateToolCall(policy, call("resume_execution", { on_resume: "kill" })).reason, "deny_if_matched");
    const pending = evaluateToolCall(policy, call("resume_execution", {}));
    assert.equal(pending.decision, "approval_required");
    assert.deepEqual(pending.plan.approval, { timeoutMs: 120_000, ttlMs: 600_000, via: "both" });
  });
  test("decideToolCall does not consume limits for a call awaiting approval; admitting it after approval does", async () => {
    const { store } = clockedStore();
    const c = call("resume_execution", {});
    assert.equal((await decideToolCall(policy, c, store)).decision, "approval_required");
    const evaluation = evaluateToolCall(policy, c);
    assert.equal((await admitToolCall(policy, c, evaluation, store)).decision, "allowed");
    assert.equal((await admitToolCall(policy, c, evaluation, store)).decision, "rate_limited");
  });
});

test("Audit mode still decides; not blocking is the sidecar's job", () => {
  const policy = mcpPolicy("mode: Audit\ntools: [{name: a}]");
  assert.equal(policy.mode, "Audit");
  assert.equal(evaluateToolCall(policy, call("b")).decision, "denied");
});

test("denials name the policy so that any name reads as a name (a file policy.json is the policy 'policy')", () => {
  const policy = compilePolicy(parsePolicyText('{"version":"1","default":"deny","tools":{"ok":{}}}', "policy"));
  const unlisted = evaluateToolCall(policy, call("other"));
  assert.equal(
    unlisted.message,
    "Tool 'other' is not allowed by policy 'policy' (default deny). Do not retry it; use another tool or ask an operator to allow it.",
  );
  const named = compilePolicy(
    parsePolicyText(
      "apiVersion: mcpwarden.io/v1alpha1\nkind: McpPolicy\nmetadata: {name: policy, namespace: agents}\nspec:\n  tools: [{name: drop, action: deny}]\n",
      "x",
    ),
  );
  assert.equal(
    evaluateToolCall(named, call("drop")).message,
    "Tool 'drop' is denied by policy 'agents/policy'. Do not retry it; ask an operator if you need it.",
  );
});
