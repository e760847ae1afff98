// Leader election for the operator: only the replica holding the Lease runs the controller, so two
// replicas never reconcile the same objects. Without election this replica leads from the start.
import type { Clock } from "../kube/clock.ts";
import type { KubeHttp } from "../kube/http.ts";
import { KubernetesLeaseStore } from "../kube/lease-store.ts";
import { LeaderElector } from "../kube/leader-election.ts";
import type { Logger } from "../kube/logger.ts";
import { errorMessage } from "../program/logging.ts";
import type { Controller } from "./controller/controller.ts";
import type { OperatorMetrics } from "./metrics.ts";
import { MANAGED_BY_LABELS } from "./names.ts";

export interface LeadershipOptions {
  http: KubeHttp;
  namespace: string;
  leaseName: string;
  identity: string;
  /** false: no Lease, this replica always leads. */
  leaderElection?: boolean;
  leaseTimings?: { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
  controller: Controller;
  metrics: OperatorMetrics;
  clock: Clock;
  logger: Logger;
}

export interface Leadership {
  isLeader(): boolean;
  /** Releases the lease (which stops the controller) and resolves once both have stopped. */
  release(): Promise<void>;
}

/** Starts competing for the Lease; the controller runs while this replica holds it. */
export function leadControllers(o: LeadershipOptions): Leadership {
  const election = new AbortController();
  let leading = false;
  let controllerRun: Promise<void> | undefined;
  const elector =
    o.leaderElection === false
      ? undefined
      : new LeaderElector({
          store: new KubernetesLeaseStore(o.http, o.namespace, o.leaseName, { ...MANAGED_BY_LABELS }),
          identity: o.identity,
          clock: o.clock,
          logger: o.logger,
          ...o.leaseTimings,
          onStartedLeading: (leadership) => {
            leading = true;
            o.metrics.leader.set(1);
            controllerRun = o.controller
              .run(leadership)
              .catch((error: unknown) => o.logger.error({ err: errorMessage(error) }, "controller failed"));
          },
          onStoppedLeading: () => {
            leading = false;
            o.metrics.leader.set(0);
          },
          onNewLeader: (leader) => o.logger.info({ leader }, "observed leader"),
        });
  const electing = elector ? elector.run(election.signal) : undefined;
  if (!elector) {
    leading = true;
    o.metrics.leader.set(1);
    controllerRun = o.controller.run(election.signal);
  }
  return {
    isLeader: () => leading,
    release: async () => {
      election.abort(); // the elector releases the lease, which stops the controller
      await electing;
      await controllerRun;
    },
  };
}
