// Who is calling: turns the Authorization header into the caller a policy sees (`caller.grant` is the
// budget of `scope: grant` limits, prefixed by the identity method: see grants.ts). Configured by the policy's `identity` (anonymous, apiKeys, jwt,
// kubernetes) plus the sidecar's `--api-keys` file; rebuilt when the policy's identity changes.
// Without any configured method, and without `anonymous: true`, every caller is refused (fail closed).
// Token verification (jose and its key handling) is loaded only when a policy accepts tokens.
import type { Logger } from "pino";
import { ANONYMOUS_CALLER } from "../../policy/decision.ts";
import type { CelCaller } from "../../policy/cel/environment.ts";
import type { IdentitySpec } from "../../policy/schema.ts";
import { watchFile, type WatchedFile } from "../watched-file.ts";
import { matchApiKey, parseApiKeyGrants, type ApiKeyGrant } from "./api-keys.ts";
import { apiKeyGrant } from "./grants.ts";
import type * as JwtModule from "./jwt.ts";
import type { JwtVerifier } from "./jwt.ts";
import type { KubernetesApiAccess } from "./kubernetes-api.ts";
import type { KubernetesTokenVerifier } from "./kubernetes.ts";

export type AuthMethod = "api_key" | "jwt" | "kubernetes" | "anonymous";

export type Authentication =
  | { ok: true; caller: CelCaller; method: AuthMethod }
  /** missing/invalid → 401; unavailable (a JWKS or the API server cannot be reached) → 503. */
  | { ok: false; problem: "missing" | "invalid" | "unavailable"; message: string };

export interface AuthenticatorOptions {
  log: Logger;
  /** `--api-keys FILE`: used whatever the policy says. */
  apiKeysFile?: string | undefined;
  /** How to reach the Kubernetes API for service-account token verification. */
  kubernetesApi?: KubernetesApiAccess | undefined;
  watch?: { debounceMs?: number; pollIntervalMs?: number };
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export class Authenticator {
  private readonly options: AuthenticatorOptions;
  private configured: string | undefined;
  private anonymous = false;
  private grants: readonly ApiKeyGrant[] | undefined;
  private grantsFile: string | undefined;
  private watched: WatchedFile | undefined;
  private jwt: JwtVerifier | undefined;
  private kubernetes: KubernetesTokenVerifier | undefined;
  private tokens: typeof JwtModule | undefined;
  private generation = 0;
  private applied: Promise<void> = Promise.resolve();

  constructor(options: AuthenticatorOptions) {
    this.options = options;
    void this.configure(undefined);
  }

  /**
   * Applies a policy's identity section (undefined before any policy is loaded). Resolves once key
   * files were read, also when the section is the one already applied (its files may still be read).
   */
  configure(spec: IdentitySpec | undefined): Promise<void> {
    const key = JSON.stringify(spec ?? null);
    if (key !== this.configured) {
      this.configured = key;
      this.applied = this.apply(spec);
    }
    return this.applied;
  }

  private async apply(spec: IdentitySpec | undefined): Promise<void> {
    const generation = ++this.generation;
    const { log } = this.options;
    const tokens = spec?.jwt || spec?.kubernetes ? await import("./jwt.ts") : undefined;
    const k8s = spec?.kubernetes && this.options.kubernetesApi ? await import("./kubernetes.ts") : undefined;
    if (generation !== this.generation) return; // a newer policy arrived meanwhile
    this.tokens = tokens;
    this.anonymous = spec?.anonymous ?? false;
    this.jwt = spec?.jwt && tokens ? new tokens.JwtVerifier(spec.jwt) : undefined;
    this.kubernetes = undefined;
    if (spec?.kubernetes) {
      if (k8s && this.options.kubernetesApi)
        this.kubernetes = new k8s.KubernetesTokenVerifier(this.options.kubernetesApi, spec.kubernetes.audiences);
      else
        log.error(
          "identity.kubernetes is set but the Kubernetes API is unknown (not in a cluster, no --kubernetes-api): service-account tokens are refused",
        );
    }
    const file = this.options.apiKeysFile ?? spec?.apiKeys?.file;
    if (spec?.apiKeys?.secretRef && !file) {
      log.error(
        { secret: spec.apiKeys.secretRef.name },
        "identity.apiKeys.secretRef needs the Secret mounted into the sidecar and passed with --api-keys; API keys are refused",
      );
    }
    await this.watchGrants(file);
  }

  /** Whether OAuth protected-resource metadata applies (JWT or service-account tokens are accepted). */
  get usesOAuth(): boolean {
    return this.jwt !== undefined || this.kubernetes !== undefined;
  }

  /** Issuers a client can get tokens from, for RFC 9728 `authorization_servers`. */
  async authorizationServers(): Promise<string[]> {
    const servers: string[] = [];
    if (this.jwt) servers.push(this.jwt.settings.issuer);
    if (this.kubernetes) {
      try {
        servers.push(await this.kubernetes.issuer());
      } catch {
        // Not reachable right now; the metadata lists what is known.
      }
    }
    return servers;
  }

  async authenticate(authorization: string | undefined): Promise<Authentication> {
    if (authorization === undefined || authorization === "") {
      if (this.anonymous) return { ok: true, caller: ANONYMOUS_CALLER, method: "anonymous" };
      return { ok: false, problem: "missing", message: "authentication required: send Authorization: Bearer <token>" };
    }
    const token = BEARER.exec(authorization)?.[1];
    if (!token) return { ok: false, problem: "invalid", message: "the Authorization header must be 'Bearer <token>'" };
    if (this.grants) {
      const name = matchApiKey(this.grants, token);
      if (name !== undefined)
        return { ok: true, caller: { grant: apiKeyGrant(name), sub: name, groups: [], claims: {} }, method: "api_key" };
    }
    const tokens = this.tokens;
    if (!JWT_SHAPE.test(token) || !tokens || (!this.jwt && !this.kubernetes))
      return { ok: false, problem: "invalid", message: "unknown credential" };
    const issuer = tokens.unverifiedIssuer(token);
    try {
      if (this.kubernetes && (!this.jwt || issuer !== this.jwt.settings.issuer)) {
        return { ok: true, caller: await this.kubernetes.verify(token), method: "kubernetes" };
      }
      if (this.jwt) return { ok: true, caller: (await this.jwt.verify(token)).caller, method: "jwt" };
    } catch (err) {
      const problem = tokens.classifyVerificationError(err);
      return {
        ok: false,
        problem,
        message:
          problem === "invalid"
            ? `invalid token: ${(err as Error).message}`
            : `cannot verify tokens right now: ${(err as Error).message}`,
      };
    }
    return { ok: false, problem: "invalid", message: "unknown credential" };
  }

  private watchGrants(file: string | undefined): Promise<void> {
    if (file === this.grantsFile) return this.watched?.ready ?? Promise.resolve();
    this.watched?.stop();
    this.watched = undefined;
    this.grants = undefined;
    this.grantsFile = file;
    if (!file) return Promise.resolve();
    const { log } = this.options;
    this.watched = watchFile(file, {
      ...this.options.watch,
      onContent: (text) => {
        const parsed = parseApiKeyGrants(text);
        if (!parsed.ok) {
          log.error(
            { file, problems: parsed.problems },
            this.grants
              ? "invalid API-key file rejected; the previous grants stay in force"
              : "invalid API-key file rejected; API keys are refused",
          );
          return;
        }
        this.grants = parsed.grants;
        log.info({ file, grants: parsed.grants.length }, "API-key grants loaded");
      },
      onError: (err) =>
        log.error({ err: err.message }, "cannot read the API-key file; the previous grants stay in force"),
    });
    return this.watched.ready;
  }

  close(): void {
    this.watched?.stop();
  }
}
