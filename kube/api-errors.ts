// Reading failures of Kubernetes API calls: the HTTP status and the API's own Status message, from
// either the generated client's ApiException or this package's raw requests.
export interface KubeStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: unknown;
}

export class KubeApiError extends Error {
  override name = "KubeApiError";
  readonly statusCode: number;
  readonly status: KubeStatus | undefined;

  constructor(statusCode: number, status: KubeStatus | undefined, context: string) {
    super(`${context}: ${statusCode} ${status?.reason ?? ""} ${status?.message ?? ""}`.replace(/\s+/g, " ").trim());
    this.statusCode = statusCode;
    this.status = status;
  }
}

/** The HTTP status of a failed API call, when the failure came from the API server. */
export function statusCodeOf(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const e = error as { code?: unknown; statusCode?: unknown };
  if (typeof e.statusCode === "number") return e.statusCode;
  if (typeof e.code === "number") return e.code; // client-node's ApiException
  return undefined;
}

export const isNotFound = (error: unknown) => statusCodeOf(error) === 404;
export const isConflict = (error: unknown) => statusCodeOf(error) === 409;
export const isGone = (error: unknown) => statusCodeOf(error) === 410;

/** A one-line description for logs and conditions: the API server's message when there is one. */
export function describeApiError(error: unknown): string {
  if (error instanceof KubeApiError) return error.message;
  const code = statusCodeOf(error);
  if (code !== undefined) {
    const body = (error as { body?: unknown }).body;
    const status = parseStatus(body);
    return `${code}${status?.reason ? ` ${status.reason}` : ""}${status?.message ? `: ${status.message}` : ""}`;
  }
  return error instanceof Error ? error.message : String(error);
}

function parseStatus(body: unknown): KubeStatus | undefined {
  if (typeof body === "string") {
    try {
      return JSON.parse(body) as KubeStatus;
    } catch {
      return { message: body.slice(0, 500) };
    }
  }
  return typeof body === "object" && body !== null ? body : undefined;
}
