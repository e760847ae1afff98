// McpPolicies as the injector and the controller need them: per namespace, with the pod selector
// compiled once and the settings that shape the sidecar parsed up front, so admission costs a map
// lookup and a few label comparisons whatever the number of policies in the cluster.
import {
  compileLabelSelector,
  isEmptySelector,
  type LabelMatcher,
  type LabelSelector,
} from "../kube/label-selector.ts";
import { formatProblem } from "../policy/paths.ts";
import { Identity, Listen, McpPolicySpec, RateLimitConfig, SidecarSettings, Upstream } from "../policy/schema.ts";

export interface SecretKeySelector {
  name: string;
  key: string;
}

/** What of a policy shapes the injected sidecar. */
export interface InjectionSettings {
  /** Loopback port of the MCP server; unset means "the profile decides". */
  upstreamPort: number | undefined;
  upstreamPath: string;
  profile: "generic" | "kestra";
  listenPort: number;
  resources: { requests?: Record<string, string>; limits?: Record<string, string> } | undefined;
  apiKeysSecret: SecretKeySelector | undefined;
  redisSecret: SecretKeySelector | undefined;
  /** spec.sidecar.approvalStateKey: the Secret key that signs 2026-07-28 approval states. */
  approvalStateKeySecret: SecretKeySelector | undefined;
  /** spec.injection: Required; selected pods without the sidecar are refused and counted. */
  required: boolean;
}

export interface PolicyEntry {
  key: string;
  namespace: string;
  name: string;
  uid: string | undefined;
  generation: number | undefined;
  resourceVersion: string | undefined;
  selector: LabelSelector | undefined;
  /** Whether the policy selects a pod with these labels (no or an empty selector selects none). */
  matches: LabelMatcher;
  injection: InjectionSettings;
  /** Set when the spec does not satisfy the schema; the sidecar will deny every call until fixed. */
  specProblem: string | undefined;
  /** The raw object, for the controller's status computation. */
  object: McpPolicyObject;
}

export interface McpPolicyObject {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    [k: string]: unknown;
  };
  spec?: unknown;
  status?: unknown;
  [k: string]: unknown;
}

export function policyEntry(object: McpPolicyObject): PolicyEntry {
  const namespace = object.metadata?.namespace ?? "";
  const name = object.metadata?.name ?? "";
  const raw = (typeof object.spec === "object" && object.spec !== null ? object.spec : {}) as Record<string, unknown>;
  const parsed = McpPolicySpec.safeParse(raw);
  const selector =
    (parsed.success ? parsed.data.podSelector : (raw.podSelector as LabelSelector | undefined)) ?? undefined;
  const usable = selector !== undefined && typeof selector === "object" && !isEmptySelector(selector);
  return {
    key: `${namespace}/${name}`,
    namespace,
    name,
    uid: object.metadata?.uid,
    generation: object.metadata?.generation,
    resourceVersion: object.metadata?.resourceVersion,
    selector,
    matches: usable ? safeMatcher(selector) : () => false,
    injection: injectionSettings(raw),
    specProblem: parsed.success
      ? undefined
      : parsed.error.issues
          .slice(0, 5)
          .map((i) =>
            formatProblem({
              path: ["spec", ...i.path.map((s) => (typeof s === "symbol" ? String(s) : s))],
              message: i.message,
            }),
          )
          .join("; "),
    object,
  };
}

/** Each part parsed on its own, so one invalid field elsewhere does not change how pods are built. */
function injectionSettings(raw: Record<string, unknown>): InjectionSettings {
  const upstream = Upstream.safeParse(raw.upstream ?? {});
  const listen = Listen.safeParse(raw.listen ?? {});
  const sidecar = SidecarSettings.safeParse(raw.sidecar ?? {});
  const identity = Identity.safeParse(raw.identity ?? {});
  const rateLimit = RateLimitConfig.safeParse(raw.rateLimit ?? {});
  const resources = sidecar.success ? sidecar.data.resources : undefined;
  return {
    upstreamPort: upstream.success ? upstream.data.port : undefined,
    upstreamPath: upstream.success ? upstream.data.path : "/mcp",
    profile: upstream.success ? upstream.data.profile : "generic",
    listenPort: listen.success ? listen.data.port : 8080,
    resources:
      resources && (resources.requests || resources.limits)
        ? (JSON.parse(JSON.stringify(resources)) as InjectionSettings["resources"])
        : undefined,
    apiKeysSecret: identity.success ? identity.data.apiKeys?.secretRef : undefined,
    redisSecret: rateLimit.success ? rateLimit.data.redis?.secretRef : undefined,
    approvalStateKeySecret: sidecar.success ? sidecar.data.approvalStateKey : undefined,
    required: raw.injection === "Required",
  };
}

function safeMatcher(selector: LabelSelector): LabelMatcher {
  try {
    return compileLabelSelector(selector);
  } catch {
    return () => false;
  }
}

export class PolicyIndex {
  readonly #byNamespace = new Map<string, Map<string, PolicyEntry>>();
  #size = 0;

  /** Adds or replaces the policy; returns the entry it replaced. */
  set(entry: PolicyEntry): PolicyEntry | undefined {
    let names = this.#byNamespace.get(entry.namespace);
    if (!names) this.#byNamespace.set(entry.namespace, (names = new Map<string, PolicyEntry>()));
    const old = names.get(entry.name);
    names.set(entry.name, entry);
    if (!old) this.#size++;
    return old;
  }

  delete(namespace: string, name: string): PolicyEntry | undefined {
    const names = this.#byNamespace.get(namespace);
    const old = names?.get(name);
    if (old && names) {
      names.delete(name);
      this.#size--;
      if (names.size === 0) this.#byNamespace.delete(namespace);
    }
    return old;
  }

  get(namespace: string, name: string): PolicyEntry | undefined {
    return this.#byNamespace.get(namespace)?.get(name);
  }

  all(): PolicyEntry[] {
    return [...this.#byNamespace.values()].flatMap((names) => [...names.values()]);
  }

  inNamespace(namespace: string): PolicyEntry[] {
    return [...(this.#byNamespace.get(namespace)?.values() ?? [])];
  }

  /** The policies of the namespace that select a pod with these labels, sorted by name. */
  selecting(namespace: string, labels: Readonly<Record<string, string>> | undefined): PolicyEntry[] {
    const names = this.#byNamespace.get(namespace);
    if (!names) return [];
    const out: PolicyEntry[] = [];
    for (const entry of names.values()) if (entry.matches(labels)) out.push(entry);
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  get size(): number {
    return this.#size;
  }
}
