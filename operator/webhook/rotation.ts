// When the webhook's certificates change, as pure decisions over what the Secret holds and the time.
// The serving certificate is renewed when a third of its life remains (or it no longer fits: other
// hosts, other CA, wrong key). The CA is replaced without an outage in two steps: a new CA is first
// added to the trusted bundle (caBundle) next to the old one, and only after the bundle has had time
// to reach the API server does it start signing; the old CA stays trusted until it expires.
import {
  BACKDATE_MS,
  certificateInfo,
  createCertificateAuthority,
  isSignedBy,
  issueServingCertificate,
  keyMatches,
  type KeyPairPem,
} from "./certificates.ts";

export interface RotationTiming {
  caValidityMs: number;
  servingValidityMs: number;
  /** Renew when less than this fraction of a certificate's lifetime remains. */
  renewFraction: number;
  /** How long a new CA is trusted before it signs, so every API server has the new caBundle. */
  caPropagationMs: number;
  /** Longest time between two checks. */
  recheckMs: number;
}

const DAY = 24 * 60 * 60_000;
export const DEFAULT_ROTATION_TIMING: RotationTiming = {
  caValidityMs: 365 * DAY,
  servingValidityMs: 30 * DAY,
  renewFraction: 1 / 3,
  caPropagationMs: 60 * 60_000,
  recheckMs: 60 * 60_000,
};

export interface TlsMaterial {
  ca?: KeyPairPem | undefined;
  nextCa?: KeyPairPem | undefined;
  nextCaStagedAt?: number | undefined;
  /** CAs that signed earlier serving certificates, still trusted until they expire. */
  retiredCas: string[];
  serving?: KeyPairPem | undefined;
}

export type RotationStep =
  | { kind: "bootstrap"; why: string }
  | { kind: "stage-ca"; why: string }
  | { kind: "promote-ca"; why: string }
  | { kind: "issue-serving"; why: string }
  | { kind: "drop-retired"; count: number };

export interface RotationPlan {
  steps: RotationStep[];
  nextCheckAt: number;
}

export function planRotation(
  material: TlsMaterial,
  hosts: readonly string[],
  now: number,
  timing: RotationTiming = DEFAULT_ROTATION_TIMING,
): RotationPlan {
  const steps: RotationStep[] = [];
  const checks: number[] = [now + timing.recheckMs];
  // Certificates start BACKDATE_MS early for clock skew; that margin is not life to renew by (it
  // would make a certificate shorter-lived than 2.5 times the margin due for renewal at once).
  const renewAt = (info: { notBefore: number; notAfter: number }) =>
    info.notAfter - Math.max(0, info.notAfter - info.notBefore - BACKDATE_MS) * timing.renewFraction;

  const ca = usableCa(material.ca, now);
  const next = usableCa(material.nextCa, now);
  if (!ca) {
    steps.push(
      next
        ? { kind: "promote-ca", why: "the signing CA is missing or expired; the staged CA takes over" }
        : { kind: "bootstrap", why: material.ca ? "the CA is unusable or expired" : "no certificates yet" },
    );
    return { steps, nextCheckAt: now };
  }
  let promoting = false;
  if (next) {
    const promoteAt = (material.nextCaStagedAt ?? 0) + timing.caPropagationMs;
    if (now >= promoteAt) {
      steps.push({ kind: "promote-ca", why: "the new CA has been trusted long enough" });
      promoting = true;
    } else {
      checks.push(promoteAt);
    }
  } else if (now >= renewAt(ca)) {
    steps.push({ kind: "stage-ca", why: `the CA expires on ${new Date(ca.notAfter).toISOString()}` });
    checks.push(now + timing.caPropagationMs);
  } else {
    checks.push(renewAt(ca));
  }

  if (!promoting) {
    const why = servingProblem(material, hosts, now, renewAt);
    if (why) steps.push({ kind: "issue-serving", why });
    else checks.push(renewAt(certificateInfo(material.serving?.cert) as { notBefore: number; notAfter: number }));
  }

  const expired = material.retiredCas.filter((pem) => (certificateInfo(pem)?.notAfter ?? 0) <= now);
  if (expired.length > 0) steps.push({ kind: "drop-retired", count: expired.length });
  for (const pem of material.retiredCas) {
    const info = certificateInfo(pem);
    if (info && info.notAfter > now) checks.push(info.notAfter);
  }
  return { steps, nextCheckAt: Math.max(now, Math.min(...checks)) };
}

function usableCa(pair: KeyPairPem | undefined, now: number) {
  const info = certificateInfo(pair?.cert);
  if (!pair || !info || !info.isCA || !keyMatches(pair.cert, pair.key) || now >= info.notAfter) return undefined;
  return info;
}

function servingProblem(
  material: TlsMaterial,
  hosts: readonly string[],
  now: number,
  renewAt: (i: { notBefore: number; notAfter: number }) => number,
): string | undefined {
  const serving = material.serving;
  const info = certificateInfo(serving?.cert);
  if (!serving || !info) return "no serving certificate";
  if (!keyMatches(serving.cert, serving.key)) return "the serving key does not match its certificate";
  if (!isSignedBy(serving.cert, material.ca?.cert)) return "the serving certificate is not signed by the current CA";
  const names = new Set([...info.dnsNames, ...info.ipAddresses]);
  const missing = hosts.filter((h) => !names.has(h));
  if (missing.length > 0) return `the serving certificate does not cover ${missing.join(", ")}`;
  if (now >= renewAt(info)) return `the serving certificate expires on ${new Date(info.notAfter).toISOString()}`;
  return undefined;
}

/** Carries out a plan: generates keys and certificates, returns the new material. */
export async function applyRotation(
  material: TlsMaterial,
  plan: RotationPlan,
  hosts: readonly string[],
  now: number,
  timing: RotationTiming = DEFAULT_ROTATION_TIMING,
  caName = "mcp-warden-webhook-ca",
): Promise<TlsMaterial> {
  let out: TlsMaterial = { ...material, retiredCas: [...material.retiredCas] };
  for (const step of plan.steps) {
    switch (step.kind) {
      case "bootstrap": {
        const ca = await createCertificateAuthority(caName, now, timing.caValidityMs);
        out = { ca, retiredCas: [], serving: await issueServingCertificate(ca, hosts, now, timing.servingValidityMs) };
        break;
      }
      case "stage-ca":
        out.nextCa = await createCertificateAuthority(caName, now, timing.caValidityMs);
        out.nextCaStagedAt = now;
        break;
      case "promote-ca": {
        const next = out.nextCa as KeyPairPem;
        if (out.ca && certificateInfo(out.ca.cert)) out.retiredCas.push(out.ca.cert);
        out = {
          ca: next,
          retiredCas: out.retiredCas,
          serving: await issueServingCertificate(next, hosts, now, timing.servingValidityMs),
        };
        break;
      }
      case "issue-serving":
        out.serving = await issueServingCertificate(out.ca as KeyPairPem, hosts, now, timing.servingValidityMs);
        break;
      case "drop-retired":
        out.retiredCas = out.retiredCas.filter((pem) => (certificateInfo(pem)?.notAfter ?? 0) > now);
        break;
    }
  }
  return out;
}

/** The CAs the API server should trust: the signing CA, a staged one, and retired ones not yet expired. */
export function trustBundle(material: TlsMaterial): string {
  return [material.ca?.cert, material.nextCa?.cert, ...material.retiredCas]
    .filter((c): c is string => Boolean(c))
    .join("");
}
