// The sidecar's own MCP session with the upstream, for one purpose: listing its tools (every page),
// so `spec.arguments: strict` knows each tool's declared inputSchema before any agent has listed them.
// It lists at start, again on `notifications/tools/list_changed` (on its own session, or seen by the
// proxy on an agent's), and after its session broke. Failures are retried with capped exponential
// backoff, forever; readiness never waits on it (ADR 0011): until a listing succeeds, strict calls to
// tools whose schema is unknown are denied, and agents' own tools/list answers teach the schemas too.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import type { Logger } from "pino";
import { z } from "zod";
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
}

/** A tools/list result as the upstream sent it: the tools are not reshaped by the SDK's schemas. */
const ListPage = z.looseObject({ tools: z.array(z.unknown()), nextCursor: z.string().optional() });
/** A server listing more pages than this is refused (and retried), not followed forever. */
const MAX_PAGES = 1000;
/** Listings start at most this often, however many notifications or unknown tools ask for them. */
const MIN_INTERVAL_MS = 1000;

export class ToolLister {
  private readonly options: Required<ToolListerOptions>;
  private client: Client | undefined;
  private wanted = true;
  private stopped = false;
  /** Ends the current wait early (stop, and refresh while idle). */
  private wake: (() => void) | undefined;
  private idle = false;
  private lastAttempt = 0;
  private loop: Promise<void> | undefined;
  private listedOnce = false;
  /** Resolvers of refresh() promises, settled when the next listing ends. */
  private pending: (() => void)[] = [];
  private readonly unsubscribe: () => void;

  constructor(options: ToolListerOptions) {
    this.options = { minDelayMs: 1000, maxDelayMs: 10_000, requestTimeoutMs: 10_000, ...options };
    this.unsubscribe = options.knownTools.onToolListChanged(() => this.refresh());
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
    const settled = this.stopped ? Promise.resolve() : new Promise<void>((resolve) => this.pending.push(resolve));
    if (this.idle) this.wake?.();
    return settled;
  }

  /** Whether a complete listing has succeeded since the start. */
  get listed(): boolean {
    return this.listedOnce;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe();
    this.wake?.();
    await this.loop;
    await this.dropClient();
    this.settle(this.pending.splice(0));
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
        this.settle(waiting);
        this.options.log.info({ tools: tools.length, afterFailures: failures }, "listed the upstream's tools");
        delay = this.options.minDelayMs;
        failures = 0;
      } catch (err) {
        this.settle(waiting);
        if (this.stopped) break;
        this.wanted = true;
        failures++;
        await this.dropClient();
        // The first failures are expected while the upstream starts (it starts after the sidecar).
        const level = failures === 1 || failures % 20 === 0 ? "warn" : "debug";
        this.options.log[level]({ err: (err as Error).message, failures, retryInMs: delay }, "cannot list the upstream's tools yet; strict argument checks deny tools not listed so far");
        await this.sleep(delay * (0.75 + Math.random() * 0.5));
        delay = Math.min(delay * 2, this.options.maxDelayMs);
      }
    }
  }

  private async listAll(): Promise<unknown[]> {
    const client = await this.connected();
    const tools: unknown[] = [];
    const seen = new Set<string>();
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const result = await client.request({ method: "tools/list", params: cursor === undefined ? {} : { cursor } }, ListPage, { timeout: this.options.requestTimeoutMs });
      tools.push(...result.tools);
      cursor = result.nextCursor;
      if (cursor === undefined) return tools;
      if (seen.has(cursor)) throw new Error(`the upstream's tools/list repeats the cursor ${JSON.stringify(cursor.slice(0, 64))}`);
      seen.add(cursor);
    }
    throw new Error(`the upstream's tools/list has more than ${MAX_PAGES} pages`);
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
    });
    await client.connect(transport, { timeout: this.options.requestTimeoutMs });
    this.client = client;
    return client;
  }

  private async dropClient(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    client.onerror = () => undefined;
    const transport = client.transport as StreamableHTTPClientTransport | undefined;
    // Best effort: end the upstream session rather than leave it to expire.
    await Promise.race([transport?.terminateSession().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
    await client.close().catch(() => undefined);
  }

  private settle(resolvers: readonly (() => void)[]): void {
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
