// Kubernetes service-account tokens, verified as JWTs against the cluster's own OIDC issuer: the
// sidecar asks its API server for `/.well-known/openid-configuration` (the issuer) and
// `/openid/v1/jwks` (the keys), using the pod's own service-account token and the cluster CA (the API
// server serves them to service accounts, not anonymously). Keys are always read from the API server
// itself, even when the discovery document names a public JWKS URL, so the pod's token never leaves
// the cluster. Tokens must carry an audience meant for mcp-warden, so a token
// minted for the API server cannot be replayed here, nor ours there.
import { readFile } from "node:fs/promises";
import { Agent, fetch as undiciFetch } from "undici";
import type { CelCaller } from "../../policy/cel/environment.ts";
import { serviceAccountGrant } from "./grants.ts";
import { JwtVerifier, TokenRejected, type FetchLike } from "./jwt.ts";
import type { KubernetesApiAccess } from "./kubernetes-api.ts";

export const DEFAULT_AUDIENCES = ["mcp-warden"];

/** A fetch that presents the pod's token and trusts the cluster CA. */
export function kubernetesFetch(access: KubernetesApiAccess): FetchLike {
  let dispatcher: Promise<Agent> | undefined;
  const agent = () =>
    (dispatcher ??= (access.caFile ? readFile(access.caFile, "utf8") : Promise.resolve(undefined)).then(
      (ca) => new Agent({ connect: ca ? { ca } : {}, connectTimeout: 5000 }),
      (err: unknown) => {
        dispatcher = undefined;
        throw err;
      },
    ));
  return async (url, init) => {
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => (headers[name] = value));
    // The API server serves its JWKS only as application/jwk-set+json.
    headers.accept = "application/json, application/jwk-set+json";
    if (access.tokenFile) headers.authorization = `Bearer ${(await readFile(access.tokenFile, "utf8")).trim()}`;
    return await undiciFetch(url, { headers, signal: init.signal, dispatcher: await agent() });
  };
}

export class KubernetesTokenVerifier {
  private readonly access: KubernetesApiAccess;
  private readonly audiences: readonly string[];
  private readonly fetch: FetchLike;
  private verifier: Promise<JwtVerifier> | undefined;

  constructor(access: KubernetesApiAccess, audiences: readonly string[] | undefined) {
    this.access = access;
    this.audiences = audiences?.length ? audiences : DEFAULT_AUDIENCES;
    this.fetch = kubernetesFetch(access);
  }

  /** The cluster's service-account issuer (from discovery). */
  async issuer(): Promise<string> {
    return (await this.jwtVerifier()).settings.issuer;
  }

  async verify(token: string): Promise<CelCaller> {
    const { payload } = await (await this.jwtVerifier()).verify(token);
    const k8s = payload["kubernetes.io"] as { namespace?: unknown; serviceaccount?: { name?: unknown } } | undefined;
    const namespace = typeof k8s?.namespace === "string" ? k8s.namespace : undefined;
    const sub = payload.sub as string;
    const prefix = `system:serviceaccount:${namespace}:`;
    const name = namespace && sub.startsWith(prefix) ? sub.slice(prefix.length) : "";
    if (!namespace || name === "" || name.includes(":")) throw new TokenRejected("not a service-account token");
    // The groups Kubernetes itself gives a service account.
    const groups = ["system:serviceaccounts", `system:serviceaccounts:${namespace}`, "system:authenticated"];
    return { grant: serviceAccountGrant(namespace, name), sub, groups, claims: payload };
  }

  private jwtVerifier(): Promise<JwtVerifier> {
    this.verifier ??= this.discover().catch((err: unknown) => {
      this.verifier = undefined;
      throw err;
    });
    return this.verifier;
  }

  private async discover(): Promise<JwtVerifier> {
    const url = `${this.access.server}/.well-known/openid-configuration`;
    const response = await this.fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`service-account issuer discovery at ${url} answered HTTP ${response.status}`);
    const doc = (await response.json()) as { issuer?: unknown };
    if (typeof doc.issuer !== "string") throw new Error(`service-account issuer discovery at ${url} names no issuer`);
    return new JwtVerifier(
      {
        issuer: doc.issuer,
        audiences: this.audiences,
        jwksUri: `${this.access.server}/openid/v1/jwks`,
        clockSkewSeconds: 30,
        subjectClaim: "sub",
        groupsClaim: "groups",
      },
      this.fetch,
    );
  }
}
