// The environment the "kestra" profile gives the Kestra container along with its new command.
// FastMCP's CLI prints a banner and asks PyPI for a newer FastMCP at every start; in a cluster without
// internet access that is a delay and an error in the log of every pod, and it is traffic no one asked
// for. The user's own `env` entries win: a name the container already sets is left as it is.
import type { V1Container, V1EnvVar } from "@kubernetes/client-node";

export const KESTRA_FASTMCP_ENV: readonly V1EnvVar[] = [
  { name: "FASTMCP_CHECK_FOR_UPDATES", value: "off" },
  { name: "FASTMCP_SHOW_SERVER_BANNER", value: "false" },
];

/** Appends the FastMCP settings the container does not set itself in `env`. A value from `envFrom`
 * cannot be seen at admission (it lives in a ConfigMap or Secret) and is overridden by an `env` entry,
 * so a user who wants another value sets it in `env` (docs/adr/0128). */
export function withKestraFastmcpEnv(container: V1Container): void {
  const own = new Set((container.env ?? []).map((e) => e.name));
  const added = KESTRA_FASTMCP_ENV.filter((e) => !own.has(e.name)).map((e) => ({ ...e }));
  if (added.length > 0) container.env = [...(container.env ?? []), ...added];
}
