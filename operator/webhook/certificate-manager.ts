// Where the webhook's serving certificate comes from, for every replica.
// - "self" (default): the CA and serving certificate live in one Secret shared by the replicas. Any
//   replica may create or rotate them (optimistic concurrency on the Secret's resourceVersion settles
//   races: the loser re-reads and finds nothing to do), and keeps the caBundle of the
//   MutatingWebhookConfiguration equal to the trusted CAs.
// - "cert-manager": cert-manager writes the Secret and injects the caBundle; replicas only read.
// Every replica watches the Secret and serves what it holds.
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Secret,
} from "@kubernetes/client-node";
import { describeApiError, isConflict, isNotFound } from "../../kube/api-errors.ts";
import { Backoff } from "../../kube/backoff.ts";
import { systemClock, type Clock, type TimerHandle } from "../../kube/clock.ts";
import type { KubeHttp } from "../../kube/http.ts";
import { Informer, type KubeObject } from "../../kube/informer.ts";
import { silentLogger, type Logger } from "../../kube/logger.ts";
import { API_GROUP } from "../../policy/schema.ts";
import { MANAGED_BY_LABELS } from "../names.ts";
import { certificateInfo, keyMatches, splitPemBundle } from "./certificates.ts";
import {
  applyRotation,
  DEFAULT_ROTATION_TIMING,
  planRotation,
  trustBundle,
  type RotationTiming,
  type TlsMaterial,
} from "./rotation.ts";
import type { ServingCertificate } from "./server.ts";

export type CertificateSource = "self" | "cert-manager";

export interface WebhookCertificatesOptions {
  kubeConfig: KubeConfig;
  http: KubeHttp;
  namespace: string;
  secretName: string;
  webhookConfigurationName: string;
  /** DNS names and IP addresses the serving certificate must cover. */
  hosts: string[];
  source: CertificateSource;
  timing?: RotationTiming;
  clock?: Clock;
  logger?: Logger;
  onCertificate: (certificate: ServingCertificate, notAfter: number) => void;
}

const STAGED_AT_ANNOTATION = `${API_GROUP}/ca-next-staged-at`;
const KEYS = {
  cert: "tls.crt",
  key: "tls.key",
  bundle: "ca.crt",
  caCert: "ca-signer.crt",
  caKey: "ca-signer.key",
  nextCert: "ca-next.crt",
  nextKey: "ca-next.key",
  retired: "ca-retired.crt",
};

export class WebhookCertificates {
  readonly #o: Required<Omit<WebhookCertificatesOptions, "timing" | "clock" | "logger">> & {
    timing: RotationTiming;
    clock: Clock;
    logger: Logger;
  };
  readonly #core: CoreV1Api;
  readonly #admission: AdmissionregistrationV1Api;
  readonly #informer: Informer<KubeObject>;
  /** The MutatingWebhookConfiguration: a caBundle reset by someone else (or a configuration created
   * after the Secret) is corrected at once, not at the next periodic check. */
  readonly #configuration: Informer<KubeObject>;
  #reconciling = false;
  #again = false;
  readonly #backoff = new Backoff({ initialMs: 2_000, maxMs: 60_000 });
  #current: { certificate: ServingCertificate; notAfter: number } | undefined;
  #waiters: Array<() => void> = [];
  #timer: TimerHandle | undefined;
  #stopped = false;
  #running: Promise<void> | undefined;

  constructor(options: WebhookCertificatesOptions) {
    this.#o = { timing: DEFAULT_ROTATION_TIMING, clock: systemClock, logger: silentLogger, ...options };
    this.#core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.#admission = options.kubeConfig.makeApiClient(AdmissionregistrationV1Api);
    this.#informer = new Informer({
      http: options.http,
      path: `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/secrets`,
      fieldSelector: `metadata.name=${options.secretName}`,
      clock: this.#o.clock,
      logger: this.#o.logger,
    });
    const load = (secret: KubeObject) => this.#load(secret);
    this.#informer.on("add", load).on("update", load);
    this.#configuration = new Informer({
      http: options.http,
      path: "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
      fieldSelector: `metadata.name=${options.webhookConfigurationName}`,
      clock: this.#o.clock,
      logger: this.#o.logger,
    });
    const kick = () => this.#kick();
    this.#configuration.on("add", kick).on("update", kick);
  }

  get current(): ServingCertificate | undefined {
    return this.#current?.certificate;
  }

  start(): void {
    this.#informer.start();
    if (this.#o.source === "self") {
      this.#configuration.start();
      this.#schedule(0);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    await this.#running;
    await Promise.all([this.#informer.stop(), this.#configuration.stop()]);
    for (const resolve of this.#waiters.splice(0)) resolve();
  }

  /** Resolves once a usable serving certificate is loaded (or `signal` aborts). */
  async waitForCertificate(signal?: AbortSignal): Promise<ServingCertificate | undefined> {
    if (!this.#current && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        signal?.addEventListener("abort", () => resolve(), { once: true });
      });
    }
    return this.#current?.certificate;
  }

  /** One pass of the self-managed source: rotate if due, keep the caBundle current. */
  async reconcile(): Promise<number> {
    const { namespace, secretName, hosts, timing, clock, logger } = this.#o;
    const secret = await this.#readSecret();
    const material = materialFromSecret(secret);
    const now = clock.now();
    let plan = planRotation(material, hosts, now, timing);
    let current = material;
    if (plan.steps.length > 0) {
      current = await applyRotation(material, plan, hosts, now, timing);
      const body = secretFromMaterial(current, namespace, secretName, secret);
      try {
        if (secret) await this.#core.replaceNamespacedSecret({ namespace, name: secretName, body });
        else await this.#core.createNamespacedSecret({ namespace, body });
      } catch (error) {
        if (isConflict(error)) {
          logger.info(
            { secret: `${namespace}/${secretName}` },
            "another replica updated the webhook certificates first; re-reading",
          );
          return clock.now(); // run again at once
        }
        throw error;
      }
      logger.info({ secret: `${namespace}/${secretName}`, steps: plan.steps }, "rotated the webhook certificates");
      plan = planRotation(current, hosts, now, timing);
    }
    await this.#ensureCaBundle(trustBundle(current));
    return plan.nextCheckAt;
  }

  /** Reconciles as soon as possible (after the pass in progress, if any). */
  #kick(): void {
    if (this.#stopped) return;
    if (this.#reconciling) {
      this.#again = true;
      return;
    }
    this.#timer?.cancel();
    this.#schedule(0);
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = this.#o.clock.schedule(delayMs, () => {
      this.#reconciling = true;
      this.#running = this.reconcile()
        .then(
          (nextCheckAt) => {
            this.#backoff.reset();
            // A little jitter keeps replicas from waking together; never more than a tenth of the
            // longest interval between checks, so short lifetimes are still renewed in time.
            const jitterMs = Math.min(10_000, this.#o.timing.recheckMs / 10);
            return Math.max(0, nextCheckAt - this.#o.clock.now()) + Math.floor(Math.random() * jitterMs);
          },
          (error: unknown) => {
            this.#o.logger.warn(
              { error: describeApiError(error) },
              "could not reconcile the webhook certificates; retrying",
            );
            return this.#backoff.next();
          },
        )
        .then((delay) => {
          this.#reconciling = false;
          const again = this.#again;
          this.#again = false;
          this.#schedule(again ? 0 : delay);
        });
    });
  }

  async #readSecret(): Promise<V1Secret | undefined> {
    try {
      return await this.#core.readNamespacedSecret({ namespace: this.#o.namespace, name: this.#o.secretName });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async #ensureCaBundle(bundle: string): Promise<void> {
    const name = this.#o.webhookConfigurationName;
    const encoded = Buffer.from(bundle).toString("base64");
    let config;
    try {
      config = await this.#admission.readMutatingWebhookConfiguration({ name });
    } catch (error) {
      if (isNotFound(error)) {
        this.#o.logger.warn(
          { webhookConfiguration: name },
          "MutatingWebhookConfiguration not found; its caBundle is set once it exists",
        );
        return;
      }
      throw error;
    }
    const ops = (config.webhooks ?? []).flatMap((webhook, i) =>
      webhook.clientConfig.caBundle === encoded
        ? []
        : [
            { op: "test", path: `/webhooks/${i}/name`, value: webhook.name },
            { op: "add", path: `/webhooks/${i}/clientConfig/caBundle`, value: encoded },
          ],
    );
    if (ops.length === 0) return;
    await this.#admission.patchMutatingWebhookConfiguration(
      { name, body: ops },
      setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
    );
    this.#o.logger.info(
      { webhookConfiguration: name, cas: splitPemBundle(bundle).length },
      "updated the webhook caBundle",
    );
  }

  #load(secret: V1Secret): void {
    const cert = decode(secret.data?.[KEYS.cert]);
    const key = decode(secret.data?.[KEYS.key]);
    const info = certificateInfo(cert);
    if (!cert || !key || !info || !keyMatches(cert, key)) {
      this.#o.logger.warn(
        { secret: `${this.#o.namespace}/${this.#o.secretName}` },
        "the webhook Secret holds no usable serving certificate yet",
      );
      return;
    }
    if (this.#current?.certificate.cert === cert) return;
    this.#current = { certificate: { cert, key }, notAfter: info.notAfter };
    this.#o.logger.info(
      { notAfter: new Date(info.notAfter).toISOString(), source: this.#o.source },
      "serving the webhook certificate from the Secret",
    );
    this.#o.onCertificate({ cert, key }, info.notAfter);
    for (const resolve of this.#waiters.splice(0)) resolve();
  }
}

export function materialFromSecret(secret: V1Secret | undefined): TlsMaterial {
  const d = secret?.data ?? {};
  const pair = (certKey: string, keyKey: string) => {
    const cert = decode(d[certKey]);
    const key = decode(d[keyKey]);
    return cert && key ? { cert, key } : undefined;
  };
  const stagedAt = Date.parse(secret?.metadata?.annotations?.[STAGED_AT_ANNOTATION] ?? "");
  return {
    ca: pair(KEYS.caCert, KEYS.caKey),
    nextCa: pair(KEYS.nextCert, KEYS.nextKey),
    nextCaStagedAt: Number.isNaN(stagedAt) ? undefined : stagedAt,
    retiredCas: splitPemBundle(decode(d[KEYS.retired])),
    serving: pair(KEYS.cert, KEYS.key),
  };
}

export function secretFromMaterial(
  material: TlsMaterial,
  namespace: string,
  name: string,
  existing: V1Secret | undefined,
): V1Secret {
  const data: Record<string, string> = {};
  const put = (key: string, value: string | undefined) => {
    if (value) data[key] = Buffer.from(value).toString("base64");
  };
  put(KEYS.cert, material.serving?.cert);
  put(KEYS.key, material.serving?.key);
  put(KEYS.bundle, trustBundle(material));
  put(KEYS.caCert, material.ca?.cert);
  put(KEYS.caKey, material.ca?.key);
  put(KEYS.nextCert, material.nextCa?.cert);
  put(KEYS.nextKey, material.nextCa?.key);
  put(KEYS.retired, material.retiredCas.join(""));
  const annotations: Record<string, string> = { ...existing?.metadata?.annotations };
  delete annotations[STAGED_AT_ANNOTATION];
  if (material.nextCa && material.nextCaStagedAt !== undefined)
    annotations[STAGED_AT_ANNOTATION] = new Date(material.nextCaStagedAt).toISOString();
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: "kubernetes.io/tls",
    metadata: {
      name,
      namespace,
      labels: { ...existing?.metadata?.labels, ...MANAGED_BY_LABELS },
      annotations,
      ...(existing?.metadata?.resourceVersion ? { resourceVersion: existing.metadata.resourceVersion } : {}),
    },
    data,
  };
}

function decode(value: string | undefined): string | undefined {
  return value ? Buffer.from(value, "base64").toString("utf8") : undefined;
}
