// Per-pod override annotations. Each is validated; a bad value, or an unknown mcpwarden.io/
// annotation (most often a typo), rejects the pod with a message that says what is accepted.
import { ADMIN_PORT_ANNOTATION, CONTAINER_ANNOTATION, PORT_ANNOTATION, STATUS_ANNOTATION } from "../names.ts";
import { API_GROUP } from "../../policy/schema.ts";

export type PortRef = { name: string } | { number: number };

export interface PodOverrides {
  container?: string;
  port?: PortRef;
  adminPort?: number;
}

export type OverridesResult = { ok: true; overrides: PodOverrides } | { ok: false; problems: string[] };

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A port name (IANA service name): lowercase alphanumerics and '-', at least one letter, 1-15 characters. */
const PORT_NAME = /^(?=.*[a-z])(?!.*--)[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const KNOWN = new Set([CONTAINER_ANNOTATION, PORT_ANNOTATION, ADMIN_PORT_ANNOTATION, STATUS_ANNOTATION]);

export function readOverrides(annotations: Readonly<Record<string, string>> | undefined): OverridesResult {
  const problems: string[] = [];
  const overrides: PodOverrides = {};
  for (const [key, value] of Object.entries(annotations ?? {})) {
    if (!key.startsWith(`${API_GROUP}/`)) continue;
    if (!KNOWN.has(key)) {
      problems.push(
        `unknown annotation ${key}: mcp-warden reads ${CONTAINER_ANNOTATION}, ${PORT_ANNOTATION} and ${ADMIN_PORT_ANNOTATION}`,
      );
      continue;
    }
    if (key === CONTAINER_ANNOTATION) {
      if (DNS_LABEL.test(value) && value.length <= 63) overrides.container = value;
      else problems.push(`annotation ${key}: "${value}" is not a container name`);
    } else if (key === PORT_ANNOTATION) {
      const port = parsePortRef(value);
      if (port) overrides.port = port;
      else problems.push(`annotation ${key}: "${value}" is neither a port number (1-65535) nor a port name`);
    } else if (key === ADMIN_PORT_ANNOTATION) {
      const port = parsePortNumber(value);
      if (port !== undefined) overrides.adminPort = port;
      else problems.push(`annotation ${key}: "${value}" is not a port number (1-65535)`);
    }
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, overrides };
}

export function parsePortRef(value: string): PortRef | undefined {
  const number = parsePortNumber(value);
  if (number !== undefined) return { number };
  return PORT_NAME.test(value) && value.length <= 15 ? { name: value } : undefined;
}

function parsePortNumber(value: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(value)) return undefined;
  const n = Number(value);
  return n >= 1 && n <= 65535 ? n : undefined;
}
