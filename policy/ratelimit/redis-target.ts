// Where the Redis rate-limit store connects, parsed from a URL:
//   redis://[[user]:password@]host[:port][/db]        one server (rediss:// for TLS)
//   redis+cluster://[[user]:password@]host[:port][,host[:port]…]   Redis Cluster seed nodes (rediss+cluster://)
// Errors never repeat the password, because the URL usually comes from a Secret.

export interface RedisNode {
  readonly host: string;
  readonly port: number;
}

export interface RedisTarget {
  readonly mode: "standalone" | "cluster";
  readonly nodes: readonly RedisNode[];
  readonly tls: boolean;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly db: number;
  /** The URL without its password, for logs. */
  readonly redacted: string;
}

export class RedisUrlError extends Error {
  override readonly name = "RedisUrlError";
}

const DEFAULT_PORT = 6379;
// The user information runs to the last "@", so a password with unencoded "/" or "@" still parses.
const URL_PATTERN = /^(rediss?)(\+cluster)?:\/\/(?:(.*)@)?([^/?#@]*)(?:\/([^?#]*))?([?#].*)?$/s;

export function parseRedisUrl(url: string): RedisTarget {
  const match = URL_PATTERN.exec(url.trim());
  const redacted = redact(url.trim());
  const fail = (message: string): never => {
    throw new RedisUrlError(`invalid Redis URL ${redacted}: ${message}`);
  };
  if (!match) {
    return fail("expected redis://, rediss://, redis+cluster:// or rediss+cluster:// followed by host[:port]");
  }
  const [, scheme, cluster, userinfo, hostList, path, rest] = match;
  if (rest !== undefined) fail("query parameters and fragments are not supported");

  let username: string | undefined;
  let password: string | undefined;
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(":");
    const user = colon === -1 ? userinfo : userinfo.slice(0, colon);
    const pass = colon === -1 ? undefined : userinfo.slice(colon + 1);
    try {
      username = user === "" ? undefined : decodeURIComponent(user);
      password = pass === undefined || pass === "" ? undefined : decodeURIComponent(pass);
    } catch {
      fail("the user or password is not correctly percent-encoded");
    }
  }

  const nodes = (hostList ?? "").split(",").map((entry) => parseNode(entry, fail));
  if (!cluster && nodes.length > 1) fail("several hosts need redis+cluster:// (Redis Cluster)");

  let db = 0;
  if (path !== undefined && path !== "") {
    if (!/^(0|[1-9][0-9]{0,4})$/.test(path)) fail(`database "${path}" is not a number`);
    db = Number(path);
    if (cluster && db !== 0) fail("Redis Cluster has only database 0");
  }

  return {
    mode: cluster ? "cluster" : "standalone",
    nodes,
    tls: scheme === "rediss",
    username,
    password,
    db,
    redacted,
  };
}

function parseNode(entry: string, fail: (message: string) => never): RedisNode {
  if (entry === "") return fail("a host is missing");
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::([0-9]+))?$/.exec(entry);
  const plain = /^([A-Za-z0-9._-]+)(?::([0-9]+))?$/.exec(entry);
  const found = bracketed ?? plain;
  if (!found) return fail(`"${entry}" is not host[:port]`);
  const port = found[2] === undefined ? DEFAULT_PORT : Number(found[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return fail(`port ${found[2]} is not between 1 and 65535`);
  return { host: found[1] as string, port };
}

/** The URL with its password (or, without a user, the whole user information) replaced by `***`. */
export function redact(url: string): string {
  const at = url.lastIndexOf("@");
  if (at === -1) return url;
  const scheme = url.indexOf("://");
  const base = scheme === -1 || scheme > at ? 0 : scheme + 3;
  const colon = url.slice(base, at).indexOf(":");
  const user = colon === -1 ? "" : url.slice(base, base + colon + 1);
  return `${url.slice(0, base)}${user}***${url.slice(at)}`;
}
