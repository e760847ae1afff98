// The one HOST:PORT grammar of every listen address: a name or IPv4 address, a bracketed IPv6
// address ([::1]:9090), or nothing (":9090", all interfaces); a bare PORT where a program allows it.
import { ConfigError } from "./config-error.ts";

export interface HostPort {
  host: string;
  port: number;
}

const HOST_AND_PORT = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/;
const PORT_ALONE = /^()()(\d{1,5})$/;

/** `option` names the setting in the error (e.g. "--listen"); an empty host means 0.0.0.0. */
export function parseHostPort(value: string, option: string, accepts: { portAlone?: boolean } = {}): HostPort {
  const match = HOST_AND_PORT.exec(value) ?? (accepts.portAlone ? PORT_ALONE.exec(value) : null);
  const port = Number(match?.[3]);
  if (!match || port > 65535)
    throw new ConfigError(`${option} must be HOST:PORT${accepts.portAlone ? " or PORT" : ""}, got "${value}"`);
  return { host: match[1] || match[2] || "0.0.0.0", port };
}
