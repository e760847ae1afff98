// Everything the proxy needs to hold calls for approval: the approvals (Kubernetes and elicitation),
// the questions outstanding at clients, the calls being held (so a client's notifications/cancelled
// or a shutdown ends their wait), the clock and the keep-alive period.
// Kubernetes approvals (and with them kube/ and @kubernetes/client-node) are loaded only for a
// policy read from the API, where approvals live (ADR 0108).
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { systemClock, type Clock } from "../../kube/clock.ts";
import { idKey, type RequestId } from "../mcp/jsonrpc.ts";
import { Approvals } from "./approvals.ts";
import { ElicitationBroker } from "./elicitation.ts";
import { RequestStateSigner } from "./request-state.ts";
import type { KubernetesApprovals } from "./kubernetes-approvals.ts";

export class HeldCalls {
  readonly #calls = new Map<string, AbortController>();
  readonly #all = new Set<AbortController>();

  get size(): number {
    return this.#all.size;
  }

  /** Registers a held call; its signal aborts on cancellation or shutdown. */
  add(session: string | undefined, grant: string, id: RequestId): { signal: AbortSignal; release: () => void } {
    const controller = new AbortController();
    const key = keyOf(session, grant, id);
    this.#calls.set(key, controller);
    this.#all.add(controller);
    return {
      signal: controller.signal,
      release: () => {
        if (this.#calls.get(key) === controller) this.#calls.delete(key);
        this.#all.delete(controller);
      },
    };
  }

  /** The client cancelled a request (notifications/cancelled); true when it was a held call. */
  cancel(session: string | undefined, grant: string, id: RequestId): boolean {
    const controller = this.#calls.get(keyOf(session, grant, id));
    controller?.abort();
    return controller !== undefined;
  }

  abortAll(): void {
    for (const controller of this.#all) controller.abort();
  }
}

function keyOf(session: string | undefined, grant: string, id: RequestId): string {
  return JSON.stringify([session ?? null, grant, idKey(id)]);
}

export interface ApprovalRuntime {
  approvals: Approvals;
  broker: ElicitationBroker;
  held: HeldCalls;
  clock: Clock;
  keepAliveMs: number;
  /** Signs and redeems the requestState of 2026-07-28 approval round trips. */
  requestStates: RequestStateSigner;
  stop(): Promise<void>;
}

export interface ApprovalRuntimeOptions {
  /** The McpPolicy the sidecar enforces, when it reads it from the API (approvals live beside it). */
  policy: { namespace: string; name: string } | undefined;
  /** Defaults to the in-cluster configuration (or KUBECONFIG outside a cluster). */
  kubeConfig: KubeConfig | undefined;
  podName: string;
  keepAliveMs: number;
  clock?: Clock;
  log: Logger;
  /** File holding the requestState signing key (a mounted Secret); random per process when unset. */
  requestStateKeyFile?: string | undefined;
}

export async function createApprovalRuntime(o: ApprovalRuntimeOptions): Promise<ApprovalRuntime> {
  const clock = o.clock ?? systemClock;
  let kubernetes: KubernetesApprovals | undefined;
  if (o.policy) {
    const [{ KubernetesApprovals }, { loadKubeConfig }] = await Promise.all([
      import("./kubernetes-approvals.ts"),
      import("../../kube/kubeconfig.ts"),
    ]);
    kubernetes = new KubernetesApprovals({
      kubeConfig: o.kubeConfig ?? loadKubeConfig(),
      namespace: o.policy.namespace,
      policy: o.policy.name,
      podName: o.podName,
      clock,
      logger: o.log,
    });
  }
  const broker = new ElicitationBroker();
  const held = new HeldCalls();
  return {
    approvals: new Approvals({ kubernetes, broker, clock, log: o.log }),
    broker,
    held,
    clock,
    keepAliveMs: o.keepAliveMs,
    requestStates: RequestStateSigner.fromFile(o.requestStateKeyFile, () => clock.now()),
    async stop() {
      held.abortAll();
      await kubernetes?.stop();
    },
  };
}
