// Raw requests to the API server with client-node's configuration and authentication (TLS, bearer
// tokens, exec plugins). The informer uses this for list and watch, where it needs control the
// generated clients do not give (pagination, streaming, an inactivity timeout of its choosing).
import { HttpMethod, RequestContext, type KubeConfig } from "@kubernetes/client-node";
import { fetch, type Response } from "undici";
import { KubeApiError, type KubeStatus } from "./api-errors.ts";

export interface KubeRequest {
  method?: HttpMethod;
  query?: Record<string, string | number | boolean | undefined>;
  body?: string;
  contentType?: string;
  signal?: AbortSignal;
}

export class KubeHttp {
  readonly kubeConfig: KubeConfig;

  constructor(kubeConfig: KubeConfig) {
    this.kubeConfig = kubeConfig;
  }

  async fetch(path: string, request: KubeRequest = {}): Promise<Response> {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error("kubeconfig has no current cluster");
    const url = new URL(cluster.server.replace(/\/$/, "") + path);
    for (const [key, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const method = request.method ?? HttpMethod.GET;
    const context = new RequestContext(url.toString(), method);
    await this.kubeConfig.applySecurityAuthentication(context);
    const headers: Record<string, string> = { ...context.getHeaders(), accept: "application/json" };
    if (request.contentType) headers["content-type"] = request.contentType;
    return fetch(url, {
      method,
      headers,
      body: request.body,
      dispatcher: context.getDispatcher(),
      signal: request.signal,
    });
  }

  /** A JSON request; a non-2xx answer throws KubeApiError with the API server's Status. */
  async json<T>(path: string, request: KubeRequest = {}): Promise<T> {
    const response = await this.fetch(path, request);
    const text = await response.text();
    if (response.status < 200 || response.status > 299) {
      throw new KubeApiError(response.status, parseStatus(text), `${request.method ?? "GET"} ${path}`);
    }
    return JSON.parse(text) as T;
  }
}

export function parseStatus(text: string): KubeStatus | undefined {
  try {
    const parsed = JSON.parse(text) as unknown;
    return typeof parsed === "object" && parsed !== null ? parsed : undefined;
  } catch {
    return text ? { message: text.slice(0, 500) } : undefined;
  }
}
