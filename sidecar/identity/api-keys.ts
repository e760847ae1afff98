// API-key grants: a file of `name: sha256hex(key)` lines (in Kubernetes, a mounted Secret). The
// caller sends `Authorization: Bearer <key>`; the sidecar hashes it and compares against every entry
// in constant time, so neither timing nor the file reveals keys. A new version of the file with a
// bad line is rejected whole and the previous grants stay in force, like policies.
import { hash, timingSafeEqual } from "node:crypto";
import { DigestCache } from "../digest-cache.ts";

export interface ApiKeyGrant {
  readonly name: string;
  readonly digest: Buffer;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.@:/-]{0,252}$/;
const HEX_DIGEST = /^[0-9a-fA-F]{64}$/;

export type ParsedGrants = { ok: true; grants: ApiKeyGrant[] } | { ok: false; problems: string[] };

export function parseApiKeyGrants(text: string): ParsedGrants {
  const grants: ApiKeyGrant[] = [];
  const problems: string[] = [];
  const names = new Set<string>();
  const digests = new Set<string>();
  text.split(/\r?\n/).forEach((rawLine, i) => {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#")) return;
    const where = `line ${i + 1}`;
    const colon = line.lastIndexOf(":");
    if (colon === -1) {
      problems.push(`${where}: expected "name: sha256-hex-of-key"`);
      return;
    }
    const name = line.slice(0, colon).trim();
    const hex = line
      .slice(colon + 1)
      .trim()
      .toLowerCase();
    if (!NAME.test(name))
      problems.push(`${where}: invalid grant name ${JSON.stringify(name)} (letters, digits and _ . @ : / -)`);
    else if (!HEX_DIGEST.test(hex))
      problems.push(`${where}: the value for "${name}" must be the 64 hex digits of sha256(key), not the key itself`);
    else if (names.has(name)) problems.push(`${where}: grant "${name}" is listed twice`);
    else if (digests.has(hex)) problems.push(`${where}: grant "${name}" has the same key as an earlier grant`);
    else {
      names.add(name);
      digests.add(hex);
      grants.push({ name, digest: Buffer.from(hex, "hex") });
    }
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, grants };
}

/**
 * Digests of keys that matched a grant, so a caller's key is not hashed again on every call. Only
 * keys that matched are remembered: a wrong key (a guess) is hashed every time, as it always was, so
 * a hit tells the sender nothing the answer (200 or 401) does not. The comparison against every
 * grant still runs on every call, so a grant removed from the file stops matching at once.
 */
const matchedKeys = new DigestCache<Buffer>(1024, (key) => hash("sha256", key, "buffer"));

/** The grant whose key this is, comparing against every entry (no early exit). */
export function matchApiKey(grants: readonly ApiKeyGrant[], key: string): string | undefined {
  const cached = matchedKeys.cached(key);
  const digest = cached ?? matchedKeys.digestOf(key);
  let match: string | undefined;
  for (const grant of grants) {
    if (timingSafeEqual(grant.digest, digest) && match === undefined) match = grant.name;
  }
  if (match !== undefined && cached === undefined) matchedKeys.remember(key, digest);
  return match;
}

/** The line to put in a grants file for a key. */
export function grantLine(name: string, key: string): string {
  return `${name}: ${hash("sha256", key, "hex")}`;
}
