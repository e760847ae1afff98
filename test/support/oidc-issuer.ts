// A real local OpenID issuer for tests: keys generated with jose, the JWKS and the discovery document
// served over HTTP, and tokens signed on demand.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from "jose";

export interface TestIssuer {
  issuer: string;
  jwksUri: string;
  /** Signs a token with the issuer's key (or `key: "stranger"` for a key the JWKS does not have). */
  sign(
    claims: JWTPayload,
    options?: {
      key?: "issuer" | "stranger";
      expiresIn?: string | number;
      notBefore?: number;
      audience?: string | string[];
      issuer?: string;
    },
  ): Promise<string>;
  /** Makes the JWKS endpoint fail (HTTP 500) or recover. */
  setDown(down: boolean): void;
  jwksRequests: number;
  close(): Promise<void>;
}

export async function startTestIssuer(audience: string): Promise<TestIssuer> {
  const keyPair = await generateKeyPair("ES256");
  const stranger = await generateKeyPair("ES256");
  const jwk: JWK = { ...(await exportJWK(keyPair.publicKey)), kid: "test-key-1", alg: "ES256", use: "sig" };
  const state = { down: false, jwksRequests: 0 };
  let issuer = "";
  const server = createServer((req, res) => {
    if (req.url === "/.well-known/openid-configuration") {
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks`, id_token_signing_alg_values_supported: ["ES256"] }));
    } else if (req.url === "/jwks") {
      state.jwksRequests++;
      if (state.down) res.writeHead(500).end();
      else res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sign = async (claims: JWTPayload, options: Parameters<TestIssuer["sign"]>[1] = {}) => {
    const key: CryptoKey = options.key === "stranger" ? stranger.privateKey : keyPair.privateKey;
    let jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: "ES256", kid: "test-key-1", typ: "JWT" })
      .setIssuer(options.issuer ?? issuer)
      .setAudience(options.audience ?? audience)
      .setIssuedAt()
      .setExpirationTime(options.expiresIn ?? "5m");
    if (options.notBefore !== undefined) jwt = jwt.setNotBefore(options.notBefore);
    return jwt.sign(key);
  };
  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    sign,
    setDown: (down) => void (state.down = down),
    get jwksRequests() {
      return state.jwksRequests;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
