// The sidecar's own MCP session with the upstream, for one purpose: knowing its catalogue on its own,
// whatever agents did. It lists the tools (every page) so `spec.arguments: strict` knows each tool's
// declared inputSchema and metrics name every tool the server has (ADR 0121), and, once per session,
// asks for a tool that cannot exist to learn how the server answers a missing tool (hidden tools
// answer the same: ADR 0122). It runs from the sidecar's start, with no credentials of any agent (no
// Authorization header: the upstream listens on loopback), and lists at start, again on
// `notifications/tools/list_changed` (on its own session, or seen by the proxy on an agent's), and
// after its session broke. A listing is bounded: pages, tools, bytes per answer, and time. Failures
// are retried with capped exponential backoff, forever; nothing waits on it (ADR 0011): until a
// listing succeeds, strict calls to tools whose schema is unknown are denied, metric labels fall back
// to the names the policy names, hidden tools answer with the spec's invalid-params error, and agents' own
// tools/list answers teach the names and schemas too.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { McpError, ToolListChangedNotificationSchema, type JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { Logger } from "pino";
import { z } from "zod";
import { probeName, shapeOf } from "./missing-tool-answer.ts";
import type { KnownTools } from "./tool-names.ts";

export interface ToolListerOptions {
  /** The upstream's MCP endpoint. */
  url: URL;
  knownTools: KnownTools;
  log: Logger;
  /** The sidecar's version, in its clientInfo and User-Agent. */
  version: string;
  /** Backoff after a failed listing: first delay, doubled up to the cap (with jitter). */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Time one connect or one page may take. */
  requestTimeoutMs?: number;
  /** Time a whole listing (every page) may take. */
  listingTimeoutMs?: number;
}

/** A complete listing, as the upstream sent its tools (not reshaped by the SDK's schemas). */
export type CatalogueListener = (tools: readonly unknown[]) => void;

/** A tools/list result as the upstream sent it: the tools are not reshaped by the SDK's schemas. */
const ListPage = z.looseObject({ tools: z.array(z.unknown()), nextCursor: z.string().optional() });
/** A server listing more pages than this is refused (and retried), not followed forever. */
const MAX_PAGES = 1000;
/** Nor more tools than the sidecar keeps (KnownTools' limit). */
const MAX_TOOLS = 10_000;
/** Nor an answer (one page, or the probe's answer) larger than this. */
const MAX_ANSWER_BYTES = 32 * 1024 * 1024;
/** Listings start at most this often, however many notifications or unknown tools ask for them. */
const MIN_INTERVAL_MS = 1000;

export class ToolLister {
  private readonly options: Required<ToolListerOptions>;
  private client: Client | undefined;
  /** A client whose connect is under way. */
  private connecting: Client | undefined;
  private wanted = true;
  private stopped = false;
  /** Ends the current wait early (stop, and refresh while idle). */
  private wake: (() => void) | undefined;
  private idle = false;
  private lastAttempt = 0;
  private loop: Promise<void> | undefined;
  private listedOnce = false;
  /** Resolvers of refresh() promises, woken when the next listing ends. */
  private pending: (() => void)[] = [];
  private readonly unsubscribe: () => void;
  private readonly catalogueListeners = new Set<CatalogueListener>();
  /** Whether the current session has asked how a missing tool is answered. */
  private probed = false;
  /** Sees every message of the current session (set while the probe's answer is awaited). */
  private observe: ((message: JSONRPCMessage) => void) | undefined;

  constructor(options: ToolListerOptions) {
    this.options = {
      minDelayMs: 1000,
      maxDelayMs: 10_000,
      requestTimeoutMs: 10_000,
      listingTimeoutMs: 60_000,
      ...options,
    };
    this.unsubscribe = options.knownTools.onToolListChanged(() => this.refresh());
  }

  /**
   * Called with every complete listing, after the known tools were replaced with it; returns its
   * removal. A listener that throws is logged and does not stop the others.
   */
  onCatalogue(listener: CatalogueListener): () => void {
    this.catalogueListeners.add(listener);
    return () => this.catalogueListeners.delete(listener);
  }

  /** Starts listing in the background; returns at once. */
  start(): void {
    this.loop ??= this.run();
  }

  /**
   * Asks for a new listing soon: debounced (one listing serves every request made before it starts),
   * at most one per second, and not sooner than the backoff after a failure. Resolves when that
   * listing has ended, successfully or not (never rejects).
   */
  refresh(): Promise<void> {
    this.wanted = true;
    const listed = this.stopped ? Promise.resolve() : new Promise<void>((resolve) => this.pending.push(resolve));
    if (this.idle) this.wake?.();
    return listed;
  }

  /** Whether a complete listing has succeeded since the start. */
  get listed(): boolean {
    return this.listedOnce;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe();
    this.wake?.();
    // A connect or a request still under way (an upstream that does not answer) is ended, not awaited
    // for its whole timeout: a listing in flight gets a moment to finish, then its session is closed.
    await this.connecting?.close().catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise((resolve) => (timer = setTimeout(resolve, 1000)))]);
    clearTimeout(timer);
    await this.dropClient();
    await this.loop;
    this.resolveWaiting(this.pending.splice(0));
  }

  private async run(): Promise<void> {
    let delay = this.options.minDelayMs;
    let failures = 0;
    while (!this.stopped) {
      if (!this.wanted) {
        this.idle = true;
        await this.sleep(Number.POSITIVE_INFINITY);
        this.idle = false;
      }
      const since = Date.now() - this.lastAttempt;
      if (since < MIN_INTERVAL_MS) await this.sleep(MIN_INTERVAL_MS - since);
      if (this.stopped) break;
      this.wanted = false;
      this.lastAttempt = Date.now();
      const waiting = this.pending.splice(0);
      try {
        const tools = await this.listAll();
        this.options.knownTools.replaceTools(tools);
        this.listedOnce = true;
        this.resolveWaiting(waiting);
        this.options.log.info({ tools: tools.length, afterFailures: failures }, "listed the upstream's tools");
        this.announce(tools);
        if (!this.probed) await this.probeMissingTool();
        delay = this.options.minDelayMs;
        failures = 0;
      } catch (err) {
        this.resolveWaiting(waiting);
        if (this.stopped) break;
        this.wanted = true;
        failures++;
        await this.dropClient();
        // The first failures are expected while the upstream starts (it starts after the sidecar).
        const level = failures === 1 || failures % 20 === 0 ? "warn" : "debug";
        this.options.log[level](
          { err: (err as Error).message, failures, retryInMs: delay },
          "cannot list the upstream's tools yet; calls are decided meanwhile (strict argument checks deny tools not listed so far)",
        );
        await this.sleep(delay * (0.75 + Math.random() * 0.5));
        delay = Math.min(delay * 2, this.options.maxDelayMs);
      }
    }
  }

  private async listAll(): Promise<unknown[]> {
    const deadline = Date.now() + this.options.listingTimeoutMs;
    const client = await this.connected();
    const tools: unknown[] = [];
    const seen = new Set<string>();
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const timeout = Math.min(this.options.requestTimeoutMs, deadline - Date.now());
      if (timeout <= 0)
        throw new Error(`the upstream's tools/list took longer than ${this.options.listingTimeoutMs} ms`);
      const result = await client.request(
        { method: "tools/list", params: cursor === undefined ? {} : { cursor } },
        ListPage,
        { timeout },
      );
      tools.push(...result.tools);
      if (tools.length > MAX_TOOLS) throw new Error(`the upstream's tools/list has more than ${MAX_TOOLS} tools`);
      cursor = result.nextCursor;
      if (cursor === undefined) return tools;
      if (seen.has(cursor))
        throw new Error(`the upstream's tools/list repeats the cursor ${JSON.stringify(cursor.slice(0, 64))}`);
      seen.add(cursor);
    }
    throw new Error(`the upstream's tools/list has more than ${MAX_PAGES} pages`);
  }

  private announce(tools: readonly unknown[]): void {
    for (const listener of this.catalogueListeners) {
      try {
        listener(tools);
      } catch (err) {
        this.options.log.error({ err: (err as Error).message }, "a catalogue listener failed");
      }
    }
  }

  /**
   * Asks the upstream, in this session, for a tool that cannot exist, and keeps its answer as the
   * answer for hidden tools; likewise a prompt and a resource when the server has them (hidden ones
   * answer as missing ones). The names are unguessable and the tool's is checked against the catalogue
   * just listed, so nothing runs. Any failure leaves the answer learnt so far (or the fallback) in place.
   */
  private async probeMissingTool(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.probed = true;
    let name = probeName();
    while (this.options.knownTools.has(name)) name = probeName();
    const answer = await this.askAbsent(client, "tools/call", { name, arguments: {} }, "tool");
    if (answer === undefined) {
      this.probed = false; // no answer (timeout, broken session): ask again after the next listing
      return;
    }
    const learnt = shapeOf(answer, name);
    if ("problem" in learnt) {
      this.options.log.warn(
        { problem: learnt.problem },
        "the upstream's answer for a missing tool is not imitated; hidden tools answer with JSON-RPC invalid params",
      );
    } else {
      this.options.knownTools.missingTool.learn(learnt.shape);
      this.options.log.info(
        { kind: learnt.shape.kind },
        "learnt how the upstream answers a missing tool; hidden tools answer the same",
      );
    }
    const capabilities = client.getServerCapabilities();
    const [prompt, resource, template] = [probeName(), `${probeName()}:absent`, `${probeName()}:{absent}`];
    const targets = [
      {
        kind: "prompt" as const,
        method: "prompts/get",
        has: capabilities?.prompts,
        probe: prompt,
        params: { name: prompt },
      },
      {
        kind: "resource" as const,
        method: "resources/read",
        has: capabilities?.resources,
        probe: resource,
        params: { uri: resource },
      },
      {
        kind: "template" as const,
        method: "completion/complete",
        has: capabilities?.completions,
        probe: template,
        params: { ref: { type: "ref/resource", uri: template }, argument: { name: "absent", value: "" } },
      },
    ];
    for (const t of targets.filter((target) => target.has !== undefined)) {
      const missing = await this.askAbsent(client, t.method, t.params, t.kind);
      const shape = missing === undefined ? undefined : shapeOf(missing, t.probe);
      if (shape && "shape" in shape && shape.shape.kind === "error") {
        this.options.knownTools.missingTarget[t.kind].learn(shape.shape);
        this.options.log.info(`learnt how the upstream answers a missing ${t.kind}; hidden ones answer the same`);
      }
    }
  }

  /** The upstream's answer, as it came, to a request for something absent; undefined when none came. */
  private async askAbsent(
    client: Client,
    method: string,
    params: Record<string, unknown>,
    what: string,
  ): Promise<JSONRPCMessage | undefined> {
    let answer: JSONRPCMessage | undefined;
    let probeId: unknown;
    this.observe = (message) => {
      if ("id" in message && message.id === probeId && ("result" in message || "error" in message)) answer = message;
    };
    const transport = client.transport as Transport;
    const send = transport.send.bind(transport);
    transport.send = (message, options) => {
      if ("method" in message && message.method === method && "id" in message) probeId = message.id;
      return send(message, options);
    };
    try {
      await client.request({ method, params }, z.looseObject({}), { timeout: this.options.requestTimeoutMs });
    } catch (err) {
      if (!(err instanceof McpError) || answer === undefined) {
        this.options.log.debug(
          { err: (err as Error).message },
          `cannot learn how the upstream answers a missing ${what} yet`,
        );
        return undefined;
      }
    } finally {
      transport.send = send;
      this.observe = undefined;
    }
    return answer;
  }

  private async connected(): Promise<Client> {
    if (this.client) return this.client;
    const client = new Client({ name: "mcp-warden-sidecar", version: this.options.version }, { capabilities: {} });
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void this.refresh());
    // A broken session or notification stream: list again, which finds out (and reconnects if need be).
    client.onerror = (err) => {
      this.options.log.debug({ err: err.message }, "the sidecar's own upstream session reported an error");
      if (!this.stopped) void this.refresh();
    };
    const transport = new StreamableHTTPClientTransport(this.options.url, {
      requestInit: { headers: { "user-agent": `mcp-warden-sidecar/${this.options.version}` } },
      fetch: boundedFetch,
    });
    this.connecting = client;
    try {
      await client.connect(transport, { timeout: this.options.requestTimeoutMs });
    } catch (err) {
      await client.close().catch(() => undefined);
      throw err;
    } finally {
      this.connecting = undefined;
    }
    if (this.stopped) {
      await client.close().catch(() => undefined);
      throw new Error("stopped");
    }
    // The SDK reads answers through its schemas; the probe needs the upstream's message as it came.
    const deliver = transport.onmessage;
    transport.onmessage = (message: JSONRPCMessage) => {
      this.observe?.(message);
      deliver?.(message);
    };
    this.client = client;
    this.probed = false;
    return client;
  }

  private async dropClient(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    client.onerror = () => undefined;
    const transport = client.transport as StreamableHTTPClientTransport | undefined;
    // Best effort: end the upstream session rather than leave it to expire.
    await Promise.race([
      transport?.terminateSession().catch(() => undefined),
      new Promise((r) => setTimeout(r, 1000).unref()),
    ]);
    await client.close().catch(() => undefined);
  }

  private resolveWaiting(resolvers: readonly (() => void)[]): void {
    for (const resolve of resolvers) resolve();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(done, ms) : undefined;
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }
}

/**
 * fetch with the answer to a POST bounded to MAX_ANSWER_BYTES (the GET notification stream stays open
 * and unbounded; its messages are notifications the SDK reads one by one).
 */
const boundedFetch: typeof fetch = async (input, init) => {
  const res = await fetch(input, init);
  if (init?.method !== "POST" || !res.body) return res;
  let seen = 0;
  const limit = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > MAX_ANSWER_BYTES)
        controller.error(new Error(`the upstream's answer is larger than ${MAX_ANSWER_BYTES} bytes`));
      else controller.enqueue(chunk);
    },
  });
  return new Response(res.body.pipeThrough(limit), {
    status: res.status,
    statusText: res.statusText,
    headers: res.headers,
  });
};
