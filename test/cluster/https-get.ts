// A plain HTTPS GET against the test API server, for the endpoints that are not resources
// (/readyz, OIDC discovery, JWKS): trusts only the cluster CA, authenticates by client certificate
// or bearer token.
import { request } from "node:https";

export interface HttpsGetOptions {
  caPem: string;
  clientCertPem?: string;
  clientKeyPem?: string;
  token?: string;
  timeoutMs?: number;
}

export interface HttpsResponse {
  status: number;
  body: string;
}

export async function httpsGet(url: string, options: HttpsGetOptions): Promise<HttpsResponse> {
  return await new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "GET",
        ca: options.caPem,
        cert: options.clientCertPem,
        key: options.clientKeyPem,
        headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
        timeout: options.timeoutMs ?? 5_000,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on("error", reject);
    req.end();
  });
}
