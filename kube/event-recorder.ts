// Kubernetes Events (what `kubectl describe` shows) without slowing or endangering the caller:
// record() only queues; a background loop writes. Repeats of the same event within the aggregation
// window bump the count of the existing Event instead of creating new objects, and a bounded queue
// drops (and counts) events rather than grow when the API server is slow.
import { randomBytes } from "node:crypto";
import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1ObjectReference,
} from "@kubernetes/client-node";
import { describeApiError, isNotFound } from "./api-errors.ts";
import { systemClock, type Clock } from "./clock.ts";
import { silentLogger, type Logger } from "./logger.ts";

export type EventType = "Normal" | "Warning";

export interface EventTarget {
  kind: string;
  apiVersion: string;
  namespace: string;
  name: string;
  uid?: string | undefined;
}

export interface EventRecorderOptions {
  component: string;
  instance: string;
  clock?: Clock;
  logger?: Logger;
  maxQueued?: number;
  aggregationWindowMs?: number;
}

/** The subset of the Events API the recorder uses. */
export interface EventsApi {
  create(namespace: string, event: Record<string, unknown>): Promise<unknown>;
  bump(namespace: string, name: string, count: number, lastTimestamp: Date): Promise<unknown>;
}

export function eventsApiFor(kubeConfig: KubeConfig): EventsApi {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  return {
    create: (namespace, event) => core.createNamespacedEvent({ namespace, body: event as never }),
    bump: (namespace, name, count, lastTimestamp) =>
      core.patchNamespacedEvent(
        { namespace, name, body: { count, lastTimestamp: lastTimestamp.toISOString() } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      ),
  };
}

interface Pending {
  target: EventTarget;
  type: EventType;
  reason: string;
  message: string;
  at: number;
}

interface Seen {
  name: string;
  count: number;
  lastAt: number;
}

const MESSAGE_LIMIT = 1024;
const SEEN_LIMIT = 4096;

export class EventRecorder {
  readonly #api: EventsApi;
  readonly #o: Required<EventRecorderOptions>;
  readonly #queue: Pending[] = [];
  readonly #seen = new Map<string, Seen>();
  #draining: Promise<void> | undefined;
  #dropped = 0;

  constructor(api: EventsApi, options: EventRecorderOptions) {
    this.#api = api;
    this.#o = {
      clock: systemClock,
      logger: silentLogger,
      maxQueued: 1000,
      aggregationWindowMs: 10 * 60_000,
      ...options,
    };
  }

  /** Events dropped because the queue was full. */
  get dropped(): number {
    return this.#dropped;
  }

  record(target: EventTarget, type: EventType, reason: string, message: string): void {
    if (this.#queue.length >= this.#o.maxQueued) {
      this.#dropped++;
      return;
    }
    const text = message.length > MESSAGE_LIMIT ? `${message.slice(0, MESSAGE_LIMIT - 1)}…` : message;
    this.#queue.push({ target, type, reason, message: text, at: this.#o.clock.now() });
    this.#draining ??= this.#drain().finally(() => (this.#draining = undefined));
  }

  /** Resolves when everything queued so far has been written (or failed). */
  async flush(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  async #drain(): Promise<void> {
    for (let next = this.#queue.shift(); next; next = this.#queue.shift()) {
      try {
        await this.#write(next);
      } catch (error) {
        this.#o.logger.warn(
          {
            reason: next.reason,
            object: `${next.target.kind} ${next.target.namespace}/${next.target.name}`,
            error: describeApiError(error),
          },
          "could not write Event",
        );
      }
    }
  }

  async #write(e: Pending): Promise<void> {
    const key = [
      e.target.kind,
      e.target.namespace,
      e.target.name,
      e.target.uid ?? "",
      e.type,
      e.reason,
      e.message,
    ].join("\u0000");
    const seen = this.#seen.get(key);
    const when = new Date(e.at);
    if (seen && e.at - seen.lastAt < this.#o.aggregationWindowMs) {
      seen.count++;
      seen.lastAt = e.at;
      try {
        await this.#api.bump(e.target.namespace, seen.name, seen.count, when);
        return;
      } catch (error) {
        if (!isNotFound(error)) throw error; // the Event expired: write a new one below
      }
    }
    const name = `${e.target.name}.${randomBytes(8).toString("hex")}`;
    const involvedObject: V1ObjectReference = {
      kind: e.target.kind,
      apiVersion: e.target.apiVersion,
      namespace: e.target.namespace,
      name: e.target.name,
      ...(e.target.uid ? { uid: e.target.uid } : {}),
    };
    await this.#api.create(e.target.namespace, {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name, namespace: e.target.namespace },
      involvedObject,
      type: e.type,
      reason: e.reason,
      message: e.message,
      count: 1,
      firstTimestamp: when,
      lastTimestamp: when,
      source: { component: this.#o.component },
      reportingComponent: this.#o.component,
      reportingInstance: this.#o.instance,
    });
    if (this.#seen.size >= SEEN_LIMIT) this.#seen.delete(this.#seen.keys().next().value as string);
    this.#seen.set(key, { name, count: 1, lastAt: e.at });
  }
}
