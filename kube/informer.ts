// An informer that survives reality: a local cache of one kind of object, kept current by list +
// watch. Recovery is layered, because each layer has been seen to fail on its own:
// - a watch that ends is resumed from the last resourceVersion (bookmarks keep it fresh);
// - a watch or list that fails is retried with exponential backoff and jitter, and after repeated
//   watch failures the informer lists again;
// - 410 Gone (the resourceVersion was compacted away) means a fresh list;
// - a periodic re-list repairs anything a watch silently missed, emitting only real differences;
// - a watchdog restarts everything with a fresh list when nothing has been seen for too long.
// Handlers should only enqueue keys; readers take the current object from the cache.
import { Backoff } from "./backoff.ts";
import { systemClock, type Clock, type TimerHandle } from "./clock.ts";
import { isGone, KubeApiError, describeApiError } from "./api-errors.ts";
import type { KubeHttp } from "./http.ts";
import { silentLogger, type Logger } from "./logger.ts";
import { ObjectStore, type Change, type KubeObject, type ObjectMeta } from "./object-store.ts";
import { runWatch, type WatchEnd, type WatchEvent } from "./watch-stream.ts";

export { objectKey, type KubeObject, type ObjectMeta } from "./object-store.ts";

export interface InformerOptions<T extends KubeObject> {
  http: KubeHttp;
  /** The collection to list and watch, e.g. `/api/v1/pods`. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Keeps only what readers need (informers of pods would otherwise hold whole pod specs). */
  transform?: (object: KubeObject) => T;
  clock?: Clock;
  logger?: Logger;
  /** Page size of lists. */
  pageSize?: number;
  /** Time between full re-lists that repair missed events; 0 turns it off. */
  relistIntervalMs?: number;
  /** Restart with a fresh list when nothing (list, event, bookmark, connect) was seen for this long. */
  watchdogMs?: number;
  /** Reconnect a watch that has been silent for this long. */
  inactivityTimeoutMs?: number;
  /** Server-side watch timeout, randomised so replicas do not reconnect in step. */
  watchTimeoutSeconds?: () => number;
  /** Timeout of one list page request. */
  listTimeoutMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  /** Consecutive failed watches after which the informer lists again instead of resuming. */
  relistAfterWatchFailures?: number;
}

export type InformerHandler<T> = (object: T, old: T | undefined) => void;

export interface InformerStats {
  lists: number;
  watches: number;
  gone: number;
  failures: number;
  events: number;
  watchdogRestarts: number;
  lastProgressAt: number;
}

interface ListPage {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: KubeObject[];
}

export class Informer<T extends KubeObject = KubeObject> {
  readonly #o: Required<Omit<InformerOptions<T>, "labelSelector" | "fieldSelector" | "transform">> &
    Pick<InformerOptions<T>, "labelSelector" | "fieldSelector" | "transform">;
  readonly #store = new ObjectStore<T>();
  readonly #handlers = {
    add: [] as InformerHandler<T>[],
    update: [] as InformerHandler<T>[],
    delete: [] as InformerHandler<T>[],
  };
  readonly #errorHandlers: Array<(error: Error) => void> = [];
  readonly #syncWaiters: Array<() => void> = [];
  readonly #backoff: Backoff;
  #resourceVersion = "";
  #needList = true;
  #synced = false;
  #running: Promise<void> | undefined;
  #stopped = true;
  #current: AbortController | undefined;
  #timers: TimerHandle[] = [];
  #stats: InformerStats = {
    lists: 0,
    watches: 0,
    gone: 0,
    failures: 0,
    events: 0,
    watchdogRestarts: 0,
    lastProgressAt: 0,
  };

  constructor(options: InformerOptions<T>) {
    this.#o = {
      clock: systemClock,
      logger: silentLogger,
      pageSize: 500,
      relistIntervalMs: 10 * 60_000,
      watchdogMs: 5 * 60_000,
      inactivityTimeoutMs: 2 * 60_000,
      watchTimeoutSeconds: () => 300 + Math.floor(Math.random() * 300),
      listTimeoutMs: 60_000,
      backoff: { initialMs: 1000, maxMs: 30_000 },
      relistAfterWatchFailures: 3,
      ...options,
    };
    this.#backoff = new Backoff(this.#o.backoff);
  }

  on(event: "add" | "update" | "delete", handler: InformerHandler<T>): this {
    this.#handlers[event].push(handler);
    return this;
  }

  /** Called on every failed list or watch (the informer keeps retrying). */
  onError(handler: (error: Error) => void): this {
    this.#errorHandlers.push(handler);
    return this;
  }

  get synced(): boolean {
    return this.#synced;
  }

  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  get stats(): Readonly<InformerStats> {
    return { ...this.#stats };
  }

  get(key: string): T | undefined {
    return this.#store.get(key);
  }

  list(namespace?: string): T[] {
    return this.#store.list(namespace);
  }

  keys(): string[] {
    return this.#store.keys();
  }

  /** Resolves once the first list has filled the cache, or when `signal` aborts. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#synced || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      this.#syncWaiters.push(resolve);
      signal?.addEventListener("abort", () => resolve(), { once: true });
    });
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#progress();
    this.#scheduleWatchdog();
    if (this.#o.relistIntervalMs > 0) this.#scheduleRelist();
    this.#running = this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) t.cancel();
    this.#timers = [];
    this.#current?.abort();
    await this.#running;
    for (const resolve of this.#syncWaiters.splice(0)) resolve();
  }

  /** Drops the current watch and lists afresh (what the periodic re-list and the watchdog do). */
  relist(): void {
    this.#needList = true;
    this.#current?.abort();
  }

  async #run(): Promise<void> {
    let watchFailures = 0;
    while (!this.#stopped) {
      const controller = new AbortController();
      this.#current = controller;
      if (this.#needList) {
        try {
          await this.#list(controller.signal);
          this.#needList = false;
          this.#backoff.reset();
          watchFailures = 0;
        } catch (error) {
          if (this.#stopped || controller.signal.aborted) continue;
          this.#fail(error, "list");
          await this.#o.clock.sleep(this.#backoff.next(), controller.signal);
          continue;
        }
      }
      const started = this.#o.clock.now();
      const eventsBefore = this.#stats.events;
      const end = await this.#watch(controller.signal);
      if (this.#stopped) break;
      switch (end.reason) {
        case "aborted":
          break; // a re-list or the watchdog asked for it
        case "closed":
        case "idle":
          // Resume from the resourceVersion. A server that accepts watches and ends them at once
          // must not turn this into a busy loop.
          if (this.#stats.events === eventsBefore && this.#o.clock.now() - started < 1000) {
            await this.#o.clock.sleep(this.#backoff.next(), controller.signal);
          } else {
            this.#backoff.reset();
          }
          break;
        case "failed":
          if (isGone(end.error)) {
            this.#stats.gone++;
            this.#o.logger.info({ informer: this.#o.path }, "watch resourceVersion expired (410 Gone); listing again");
            this.#needList = true;
            break;
          }
          watchFailures++;
          this.#fail(end.error, "watch");
          if (watchFailures >= this.#o.relistAfterWatchFailures) this.#needList = true;
          await this.#o.clock.sleep(this.#backoff.next(), controller.signal);
      }
    }
  }

  async #list(signal: AbortSignal): Promise<void> {
    const items: KubeObject[] = [];
    let continueToken: string | undefined;
    let resourceVersion = "";
    do {
      const pageController = new AbortController();
      const timeout = this.#o.clock.schedule(this.#o.listTimeoutMs, () => pageController.abort());
      const onAbort = () => pageController.abort();
      signal.addEventListener("abort", onAbort, { once: true });
      let page: ListPage;
      try {
        page = await this.#o.http.json<ListPage>(this.#o.path, {
          query: {
            limit: this.#o.pageSize,
            continue: continueToken,
            labelSelector: this.#o.labelSelector,
            fieldSelector: this.#o.fieldSelector,
          },
          signal: pageController.signal,
        });
      } catch (error) {
        // A continue token can expire mid-list: start over from a fresh snapshot.
        if (isGone(error) && continueToken !== undefined) {
          items.length = 0;
          continueToken = undefined;
          continue;
        }
        throw signal.aborted
          ? error
          : pageController.signal.aborted
            ? new Error(`list ${this.#o.path} timed out`)
            : error;
      } finally {
        timeout.cancel();
        signal.removeEventListener("abort", onAbort);
      }
      items.push(...(page.items ?? []));
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken !== undefined);
    if (signal.aborted) throw new Error("list aborted");
    for (const change of this.#store.replace(items.map((item) => this.#transform(item)))) this.#emit(change);
    this.#resourceVersion = resourceVersion;
    this.#stats.lists++;
    this.#progress();
    if (!this.#synced) {
      this.#synced = true;
      for (const resolve of this.#syncWaiters.splice(0)) resolve();
    }
  }

  #watch(signal: AbortSignal): Promise<WatchEnd> {
    this.#stats.watches++;
    return runWatch({
      http: this.#o.http,
      path: this.#o.path,
      query: {
        resourceVersion: this.#resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: this.#o.watchTimeoutSeconds(),
        labelSelector: this.#o.labelSelector,
        fieldSelector: this.#o.fieldSelector,
      },
      signal,
      inactivityTimeoutMs: this.#o.inactivityTimeoutMs,
      clock: this.#o.clock,
      onConnected: () => this.#progress(),
      onEvent: (event) => this.#apply(event),
    });
  }

  #apply(event: WatchEvent): void | "stop" {
    this.#progress();
    this.#stats.events++;
    if (event.type === "ERROR") {
      // An error inside the stream (410 Gone when the resourceVersion is too old) ends this watch.
      const status = event.object as { code?: number; reason?: string; message?: string };
      throw new KubeApiError(status.code ?? 500, status, `watch ${this.#o.path}`);
    }
    const rv = (event.object.metadata as ObjectMeta | undefined)?.resourceVersion;
    if (event.type === "DELETED") this.#emit(this.#store.delete(this.#transform(event.object)));
    else if (event.type !== "BOOKMARK") {
      const change = this.#store.upsert(this.#transform(event.object));
      if (change) this.#emit(change);
    }
    if (rv) this.#resourceVersion = rv;
  }

  #transform(object: KubeObject): T {
    return this.#o.transform ? this.#o.transform(object) : (object as T);
  }

  #emit(change: Change<T>): void {
    for (const handler of this.#handlers[change.kind]) {
      try {
        handler(change.object, change.old);
      } catch (error) {
        this.#o.logger.error({ informer: this.#o.path, err: error }, `informer ${change.kind} handler threw`);
      }
    }
  }

  #fail(error: unknown, during: string): void {
    this.#stats.failures++;
    const err = error instanceof Error ? error : new Error(String(error));
    this.#o.logger.warn(
      { informer: this.#o.path, during, error: describeApiError(err) },
      "informer request failed; retrying with backoff",
    );
    for (const handler of this.#errorHandlers) handler(err);
  }

  #progress(): void {
    this.#stats.lastProgressAt = this.#o.clock.now();
  }

  #scheduleRelist(): void {
    const timer = this.#o.clock.schedule(this.#o.relistIntervalMs, () => {
      this.#timers = this.#timers.filter((t) => t !== timer);
      if (this.#stopped) return;
      this.#o.logger.debug({ informer: this.#o.path }, "periodic re-list");
      this.relist();
      this.#scheduleRelist();
    });
    this.#timers.push(timer);
  }

  #scheduleWatchdog(): void {
    const period = Math.max(1000, Math.floor(this.#o.watchdogMs / 4));
    const timer = this.#o.clock.schedule(period, () => {
      this.#timers = this.#timers.filter((t) => t !== timer);
      if (this.#stopped) return;
      const quietFor = this.#o.clock.now() - this.#stats.lastProgressAt;
      if (quietFor >= this.#o.watchdogMs) {
        this.#stats.watchdogRestarts++;
        this.#o.logger.warn(
          { informer: this.#o.path, quietForMs: quietFor },
          "nothing seen lately; restarting with a fresh list",
        );
        this.#progress();
        this.#backoff.reset();
        this.relist();
      }
      this.#scheduleWatchdog();
    });
    this.#timers.push(timer);
  }
}
