// The McpApproval API as the sidecar, the CLI and the operator use it: typed REST calls over KubeHttp
// (client-node's configuration and authentication). Writes carry the object's resourceVersion, so a
// use or a decision can only land on the version its writer looked at (optimistic concurrency: two
// sidecars cannot both use one approval, two approvers cannot both decide it).
import { HttpMethod } from "@kubernetes/client-node";
import {
  APPROVAL_API_VERSION,
  APPROVAL_KIND,
  APPROVAL_PLURAL,
  McpApprovalResource,
  type McpApprovalResourceType,
} from "../policy/approval/schema.ts";
import type { KubeHttp } from "./http.ts";

export interface McpApprovalObject extends McpApprovalResourceType {
  metadata: McpApprovalResourceType["metadata"] & {
    creationTimestamp?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    generateName?: string;
  };
}

interface ListAnswer {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: unknown[];
}

export function approvalsPath(namespace: string | undefined, name?: string, subresource?: "status"): string {
  const base = `/apis/${APPROVAL_API_VERSION}${namespace === undefined ? "" : `/namespaces/${encodeURIComponent(namespace)}`}/${APPROVAL_PLURAL}`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}${subresource ? `/${subresource}` : ""}`;
}

/** An object from the API that is a valid McpApproval, or the problem with it. */
export function parseApproval(
  raw: unknown,
): { ok: true; approval: McpApprovalObject } | { ok: false; problem: string } {
  const parsed = McpApprovalResource.safeParse(raw);
  if (parsed.success) return { ok: true, approval: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, problem: `${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}` };
}

export class McpApprovalClient {
  readonly #http: KubeHttp;

  constructor(http: KubeHttp) {
    this.#http = http;
  }

  async get(namespace: string, name: string, signal?: AbortSignal): Promise<unknown> {
    return this.#http.json<unknown>(approvalsPath(namespace, name), { signal });
  }

  /** Every approval in a namespace (or all namespaces), page by page. */
  async list(
    namespace: string | undefined,
    options: { labelSelector?: string; signal?: AbortSignal } = {},
  ): Promise<unknown[]> {
    const items: unknown[] = [];
    let next: string | undefined;
    do {
      const page = await this.#http.json<ListAnswer>(approvalsPath(namespace), {
        query: { limit: 500, continue: next, labelSelector: options.labelSelector },
        signal: options.signal,
      });
      items.push(...(page.items ?? []));
      next = page.metadata?.continue || undefined;
    } while (next !== undefined);
    return items;
  }

  /** Creates an approval; `generateName` picks the name's random suffix. */
  async create(
    namespace: string,
    object: { metadata: Record<string, unknown>; spec: unknown },
    signal?: AbortSignal,
  ): Promise<unknown> {
    return this.#http.json<unknown>(approvalsPath(namespace), {
      method: HttpMethod.POST,
      body: JSON.stringify({ apiVersion: APPROVAL_API_VERSION, kind: APPROVAL_KIND, ...object }),
      contentType: "application/json",
      signal,
    });
  }

  /** Replaces the object (spec and metadata); fails with 409 unless its resourceVersion is current. */
  async replace(object: McpApprovalObject, signal?: AbortSignal): Promise<unknown> {
    return this.#http.json<unknown>(approvalsPath(object.metadata.namespace, object.metadata.name), {
      method: HttpMethod.PUT,
      body: JSON.stringify(object),
      contentType: "application/json",
      signal,
    });
  }

  /** Replaces the status subresource; fails with 409 unless its resourceVersion is current. */
  async replaceStatus(object: McpApprovalObject, signal?: AbortSignal): Promise<unknown> {
    return this.#http.json<unknown>(approvalsPath(object.metadata.namespace, object.metadata.name, "status"), {
      method: HttpMethod.PUT,
      body: JSON.stringify(object),
      contentType: "application/json",
      signal,
    });
  }

  /** Deletes exactly the version given (uid and resourceVersion preconditions). */
  async delete(object: McpApprovalObject, signal?: AbortSignal): Promise<void> {
    await this.#http.json<unknown>(approvalsPath(object.metadata.namespace, object.metadata.name), {
      method: HttpMethod.DELETE,
      body: JSON.stringify({
        apiVersion: "v1",
        kind: "DeleteOptions",
        preconditions: { uid: object.metadata.uid, resourceVersion: object.metadata.resourceVersion },
      }),
      contentType: "application/json",
      signal,
    });
  }
}

export interface UserIdentity {
  username: string;
  groups: string[];
}

/** Who the API server says the caller is (SelfSubjectReview, authentication.k8s.io/v1). */
export async function whoAmI(http: KubeHttp, signal?: AbortSignal): Promise<UserIdentity> {
  const review = await http.json<{ status?: { userInfo?: { username?: string; groups?: string[] } } }>(
    "/apis/authentication.k8s.io/v1/selfsubjectreviews",
    {
      method: HttpMethod.POST,
      body: JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" }),
      contentType: "application/json",
      signal,
    },
  );
  const username = review.status?.userInfo?.username;
  if (!username) throw new Error("the API server did not say who you are (SelfSubjectReview returned no username)");
  return { username, groups: review.status?.userInfo?.groups ?? [] };
}
