// The sidecar's policy from the Kubernetes API (`--policy k8s://<namespace>/<name>`): list + watch of
// that one McpPolicy through kube/'s informer (resume from resourceVersion, re-list on 410, periodic
// re-list, watchdog), with the pod's projected service-account token (in-cluster config, re-read as
// the kubelet rotates it). Each new generation is parsed and handed over; the consumer compiles it,
// keeps the last good policy through invalid versions and API outages, and stays not ready (denying
// every call) until the first one arrives. Status-only updates are not new versions.
// kube/ (and with it @kubernetes/client-node, a large module graph) is loaded on start, so that a
// sidecar whose policy is a file never pays for it in memory or start time.
import type { KubeConfig } from "@kubernetes/client-node";
import type { Clock } from "../../kube/clock.ts";
import type { Informer, KubeObject } from "../../kube/informer.ts";
import type { Logger } from "../../kube/logger.ts";
import { loadPolicySpec } from "../../policy/load.ts";
import { PolicyError } from "../../policy/paths.ts";
import { API_GROUP, API_VERSION } from "../../policy/schema.ts";
import type { PolicySource, PolicySourceHandlers } from "../policy-source.ts";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export interface PolicyReference {
  namespace: string;
  name: string;
}

/** Reads `k8s://<namespace>/<name>`; throws an error that says what a valid reference looks like. */
export function parsePolicyUrl(url: string): PolicyReference {
  const match = /^k8s:\/\/([^/]+)\/([^/]+)$/.exec(url);
  const namespace = match?.[1] ?? "";
  const name = match?.[2] ?? "";
  if (!match || !DNS_LABEL.test(namespace) || namespace.length > 63 || !DNS_SUBDOMAIN.test(name) || name.length > 253) {
    throw new Error(
      `"${url}" is not an McpPolicy reference: expected k8s://<namespace>/<name>, e.g. k8s://agents/kestra`,
    );
  }
  return { namespace, name };
}

export interface KubernetesPolicySourceOptions extends PolicyReference {
  /** Defaults to the in-cluster configuration (or KUBECONFIG outside a cluster). */
  kubeConfig?: KubeConfig;
  clock?: Clock;
  logger?: Logger;
  /** Informer timings; the defaults suit production. */
  informer?: {
    relistIntervalMs?: number;
    watchdogMs?: number;
    inactivityTimeoutMs?: number;
    backoff?: { initialMs: number; maxMs: number };
  };
}

interface McpPolicyObject extends KubeObject {
  metadata?: { name?: string; namespace?: string; uid?: string; generation?: number; resourceVersion?: string };
  spec?: unknown;
}

export class KubernetesPolicySource implements PolicySource {
  readonly description: string;
  readonly #o: KubernetesPolicySourceOptions;
  #informer: Informer<McpPolicyObject> | undefined;
  /** uid and generation of the last version handed over, to skip status-only updates. */
  #delivered: string | undefined;

  constructor(options: KubernetesPolicySourceOptions) {
    this.#o = options;
    this.description = `McpPolicy ${options.namespace}/${options.name}`;
  }

  async start(handlers: PolicySourceHandlers): Promise<void> {
    const { namespace, name } = this.#o;
    const key = `${namespace}/${name}`;
    const [{ KubeHttp }, { Informer }, { loadKubeConfig }] = await Promise.all([
      import("../../kube/http.ts"),
      import("../../kube/informer.ts"),
      import("../../kube/kubeconfig.ts"),
    ]);
    const informer = new Informer<McpPolicyObject>({
      http: new KubeHttp(this.#o.kubeConfig ?? loadKubeConfig()),
      path: `/apis/${API_GROUP}/${API_VERSION}/namespaces/${encodeURIComponent(namespace)}/mcppolicies`,
      fieldSelector: `metadata.name=${name}`,
      ...(this.#o.clock ? { clock: this.#o.clock } : {}),
      ...(this.#o.logger ? { logger: this.#o.logger } : {}),
      ...this.#o.informer,
    });
    this.#informer = informer;
    const deliver = (object: McpPolicyObject) => {
      const version = `${object.metadata?.uid ?? ""}/${object.metadata?.generation ?? ""}`;
      if (version === this.#delivered) return;
      this.#delivered = version;
      try {
        handlers.policy(loadPolicySpec(object.spec, key, object.metadata?.generation));
      } catch (error) {
        if (!(error instanceof PolicyError)) throw error;
        handlers.invalid(error);
      }
    };
    informer.on("add", deliver).on("update", deliver);
    informer.on("delete", () => {
      this.#delivered = undefined;
      handlers.invalid(
        new PolicyError([
          {
            path: [],
            message: `McpPolicy ${key} was deleted; the last policy stays in force until it is created again`,
          },
        ]),
      );
    });
    let firstAttempt: (() => void) | undefined;
    const attempted = new Promise<void>((resolve) => (firstAttempt = resolve));
    informer.onError((error) => {
      handlers.trouble(new Error(`cannot read McpPolicy ${key} from the Kubernetes API: ${error.message}`));
      firstAttempt?.();
    });
    informer.start();
    void informer.waitForSync().then(() => {
      if (!informer.synced) return; // stopped before the first list
      if (!informer.get(key)) handlers.trouble(new Error(`McpPolicy ${key} does not exist (yet); waiting for it`));
      firstAttempt?.();
    });
    await attempted;
    firstAttempt = undefined;
  }

  async stop(): Promise<void> {
    await this.#informer?.stop();
  }
}
