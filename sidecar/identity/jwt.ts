// JWT bearer tokens verified against an issuer's JWKS (jose): signature with an asymmetric key,
// issuer, audience, expiry (required) and not-before with the configured clock skew. The JWKS location
// comes from the policy or from the issuer's OpenID discovery document; keys are cached and refetched
// when a token names an unknown key id (jose's cooldown bounds how often).
import {
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  errors,
  jwtVerify,
  type FetchImplementation,
  type JWTPayload,
} from "jose";
import type { CelCaller } from "../../policy/cel/environment.ts";
import { jwtGrant } from "./grants.ts";

export const ASYMMETRIC_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
];

export interface JwtSettings {
  issuer: string;
  audiences: readonly string[];
  jwksUri?: string | undefined;
  clockSkewSeconds: number;
  subjectClaim: string;
  groupsClaim: string;
}

/** A token that verified cryptographically but is not acceptable (missing subject, wrong kind). */
export class TokenRejected extends Error {
  override name = "TokenRejected";
}

export type FetchLike = (
  url: string,
  init: { headers?: Headers | Record<string, string>; signal?: AbortSignal },
) => Promise<Response>;

/** Verifies tokens of one issuer. */
export class JwtVerifier {
  readonly settings: JwtSettings;
  private readonly fetch: FetchLike;
  private jwks: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;

  constructor(settings: JwtSettings, fetchImpl: FetchLike = (url, init) => fetch(url, init)) {
    this.settings = settings;
    this.fetch = fetchImpl;
  }

  async verify(token: string): Promise<{ caller: CelCaller; payload: JWTPayload }> {
    const jwks = await this.keySet();
    const { payload } = await jwtVerify(token, jwks, {
      issuer: this.settings.issuer,
      audience: [...this.settings.audiences],
      clockTolerance: this.settings.clockSkewSeconds,
      algorithms: ASYMMETRIC_ALGORITHMS,
      requiredClaims: ["exp"],
    });
    return { caller: callerFromClaims(payload, this.settings.subjectClaim, this.settings.groupsClaim), payload };
  }

  private keySet(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    this.jwks ??= this.resolveJwksUri().then(
      (uri) =>
        createRemoteJWKSet(new URL(uri), {
          timeoutDuration: 5000,
          cooldownDuration: 30_000,
          cacheMaxAge: 10 * 60_000,
          [customFetch]: this.fetch as unknown as FetchImplementation,
        }),
      (err: unknown) => {
        this.jwks = undefined; // try discovery again on the next token
        throw err;
      },
    );
    return this.jwks;
  }

  private async resolveJwksUri(): Promise<string> {
    if (this.settings.jwksUri) return this.settings.jwksUri;
    const url = `${this.settings.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
    const response = await this.fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`OpenID discovery at ${url} answered HTTP ${response.status}`);
    const doc = (await response.json()) as { jwks_uri?: unknown; issuer?: unknown };
    if (doc.issuer !== this.settings.issuer)
      throw new Error(
        `OpenID discovery at ${url} names issuer ${JSON.stringify(doc.issuer)}, not ${this.settings.issuer}`,
      );
    if (typeof doc.jwks_uri !== "string") throw new Error(`OpenID discovery at ${url} has no jwks_uri`);
    return doc.jwks_uri;
  }
}

export function callerFromClaims(payload: JWTPayload, subjectClaim: string, groupsClaim: string): CelCaller {
  const sub = payload[subjectClaim];
  if (typeof sub !== "string" || sub === "") throw new TokenRejected(`token has no "${subjectClaim}" claim`);
  const rawGroups = payload[groupsClaim];
  const groups = Array.isArray(rawGroups)
    ? rawGroups.filter((g): g is string => typeof g === "string")
    : typeof rawGroups === "string"
      ? [rawGroups]
      : [];
  return { grant: jwtGrant(sub), sub, groups, claims: payload };
}

/** The unverified issuer of a token, to pick the verifier (never trusted for anything else). */
export function unverifiedIssuer(token: string): string | undefined {
  try {
    const iss = decodeJwt(token).iss;
    return typeof iss === "string" ? iss : undefined;
  } catch {
    return undefined;
  }
}

/** JOSE failures that say nothing about the token: the key set could not be had. */
const INFRASTRUCTURE_CODES = new Set(["ERR_JWKS_TIMEOUT", "ERR_JOSE_GENERIC", "ERR_JWKS_INVALID"]);

/** A rejected token (401) or a verification that could not be done right now (503). */
export function classifyVerificationError(err: unknown): "invalid" | "unavailable" {
  if (err instanceof TokenRejected) return "invalid";
  return err instanceof errors.JOSEError && !INFRASTRUCTURE_CODES.has(err.code) ? "invalid" : "unavailable";
}
