// What a kubelet would report for the pods of a namespace in the test cluster, which has none: each
// pod becomes Running and Ready, with a pod IP, through the real status subresource. Deployments then
// roll out as in a cluster (new pods become available, old ones are deleted), which `kubectl rollout
// status` and the operator's pod counts observe. Nothing runs in the pods.
import { CoreV1Api, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { ControlPlane } from "../cluster/harness.ts";

export interface KubeletStandIn {
  stop(): Promise<void>;
}

export function startKubeletStandIn(cluster: ControlPlane, namespace: string, intervalMs = 250): KubeletStandIn {
  const core = cluster.client(CoreV1Api);
  const addresses = new Map<string, string>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const pods = (await core.listNamespacedPod({ namespace })).items;
        for (const pod of pods) {
          const name = pod.metadata?.name as string;
          const ready = pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
          if (ready || pod.metadata?.deletionTimestamp) continue;
          if (!addresses.has(name)) addresses.set(name, `10.244.0.${addresses.size + 10}`);
          const now = new Date();
          await core.patchNamespacedPodStatus(
            {
              namespace,
              name,
              body: {
                status: {
                  phase: "Running",
                  podIP: addresses.get(name),
                  podIPs: [{ ip: addresses.get(name) }],
                  startTime: now,
                  conditions: ["Initialized", "ContainersReady", "Ready", "PodScheduled"].map((type) => ({
                    type,
                    status: "True",
                    lastTransitionTime: now,
                  })),
                },
              },
            },
            setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
          );
        }
      } catch {
        // The next round tries again (a pod deleted meanwhile, an API hiccup).
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
