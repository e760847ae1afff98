// The 2026-07-28 approval round trip's `requestState`: the sidecar's own, signed (HMAC-SHA256) and
// bound to the caller's grant, the policy, the tool, the arguments' digest (ADR 0701) and an expiry.
// The client echoes it back verbatim with its inputResponses; anything it changed (another tool, other
// arguments, another caller, a later time, a forged signature) is refused. With Kubernetes the state
// also names the McpApproval the round trip is bound to, and that object's one use makes the state
// single use on every replica; without, each state is honoured once per process (its nonce is
// remembered until it expires). See ADR 0708.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { argumentsDigest } from "../../policy/approval/binding.ts";

/** Marks a requestState as the sidecar's (an upstream's own requestState has no such prefix). */
export const STATE_PREFIX = "mcpwarden1.";
/** The inputRequests key of the sidecar's approval question. */
export const APPROVAL_INPUT_KEY = "mcpwarden.io/approval";

export interface StateBinding {
  readonly policy: string;
  readonly grant: string;
  readonly tool: string;
  readonly args: unknown;
}

interface Payload {
  p: string;
  g: string;
  t: string;
  d: string;
  /** Expiry, epoch milliseconds. */
  e: number;
  n: string;
  /** The McpApproval (name, in the policy's namespace) the round trip is bound to, with Kubernetes. */
  a?: string;
}

export type StateCheck =
  { ok: true; nonce: string; expiresAt: number; approval: string | undefined } | { ok: false; problem: string };

export class RequestStateSigner {
  private readonly key: Buffer;
  private readonly now: () => number;
  /** Nonces honoured, with their expiry: a state is good for one retry. */
  private readonly used = new Map<string, number>();

  constructor(key: Buffer, now: () => number = Date.now) {
    if (key.length < 32) throw new Error("the request-state key must be at least 32 bytes");
    this.key = key;
    this.now = now;
  }

  /** A key from a file (a mounted Secret), or a random one for this process when there is none. */
  static fromFile(file: string | undefined, now?: () => number): RequestStateSigner {
    if (file === undefined) return new RequestStateSigner(randomBytes(32), now);
    const key = readFileSync(file);
    if (key.length < 32) throw new Error(`${file}: the request-state key must be at least 32 bytes`);
    return new RequestStateSigner(key, now);
  }

  sign(binding: StateBinding, ttlMs: number, approval?: string): string {
    const payload: Payload = {
      p: binding.policy,
      g: binding.grant,
      t: binding.tool,
      d: argumentsDigest(binding.args),
      e: this.now() + ttlMs,
      n: randomBytes(16).toString("base64url"),
      ...(approval !== undefined ? { a: approval } : {}),
    };
    const body = Buffer.from(JSON.stringify(payload)).toString("base64url");
    return `${STATE_PREFIX}${body}.${this.mac(body)}`;
  }

  /** Checks a state against the retry that carries it, and uses it up (in this process) when it is good. */
  redeem(state: string, binding: StateBinding): StateCheck {
    const check = this.verify(state, binding);
    if (!check.ok) return check;
    const now = this.now();
    this.prune(now);
    if (this.used.has(check.nonce)) return { ok: false, problem: "it has already been used" };
    this.used.set(check.nonce, check.expiresAt);
    return check;
  }

  /** Checks a state against the retry that carries it without using it up (its McpApproval's use does). */
  verify(state: string, binding: StateBinding): StateCheck {
    if (!state.startsWith(STATE_PREFIX)) return { ok: false, problem: "it is not this sidecar's" };
    const [body, mac, extra] = state.slice(STATE_PREFIX.length).split(".");
    if (body === undefined || mac === undefined || extra !== undefined)
      return { ok: false, problem: "it is malformed" };
    const expected = Buffer.from(this.mac(body));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return { ok: false, problem: "its signature does not verify" };
    const payload = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as Payload;
    const now = this.now();
    if (payload.e <= now) return { ok: false, problem: "it has expired" };
    if (payload.p !== binding.policy || payload.g !== binding.grant)
      return { ok: false, problem: "it was issued to another caller or policy" };
    if (payload.t !== binding.tool) return { ok: false, problem: `it was issued for tool '${payload.t}'` };
    if (payload.d !== argumentsDigest(binding.args)) return { ok: false, problem: "it was issued for other arguments" };
    return {
      ok: true,
      nonce: payload.n,
      expiresAt: payload.e,
      approval: typeof payload.a === "string" ? payload.a : undefined,
    };
  }

  private mac(body: string): string {
    return createHmac("sha256", this.key).update(body).digest("base64url");
  }

  private prune(now: number): void {
    for (const [nonce, expiry] of this.used) if (expiry <= now) this.used.delete(nonce);
  }
}
