// The sidecar's layers, lowest first (ADR 0900). A file may import files of its own layer and of the
// layers below it, never of a layer above: the wire formats know nothing of the sidecar, the
// vocabulary of a decided call knows only the wire, and so on up to sidecar.ts, which wires it all.
// eslint.config.js turns this table into no-restricted-imports rules; test/architecture/imports.test.ts
// checks the same table against the import graph, and that every sidecar file has a layer.

export interface SidecarLayer {
  readonly name: string;
  /** Folders (ending in "/") and files, relative to the repository root. */
  readonly paths: readonly string[];
}

export const SIDECAR_LAYERS: readonly SidecarLayer[] = [
  { name: "wire", paths: ["sidecar/json/", "sidecar/mcp/", "sidecar/digest-cache.ts"] },
  { name: "vocabulary", paths: ["sidecar/tool-call.ts", "sidecar/sessions.ts"] },
  { name: "observability", paths: ["sidecar/observability/"] },
  {
    name: "sources",
    paths: [
      "sidecar/watched-file.ts",
      "sidecar/policy-source.ts",
      "sidecar/policy-sources/",
      "sidecar/rate-limit-store.ts",
      "sidecar/ratelimit/",
    ],
  },
  { name: "identity", paths: ["sidecar/identity/"] },
  { name: "settings", paths: ["sidecar/config.ts", "sidecar/policy-holder.ts"] },
  { name: "pins", paths: ["sidecar/pins/"] },
  { name: "decisions", paths: ["sidecar/enforcement/", "sidecar/approvals/"] },
  { name: "proxy", paths: ["sidecar/proxy/"] },
  {
    name: "wiring",
    paths: ["sidecar/sidecar.ts", "sidecar/admin-server.ts", "sidecar/in-flight.ts", "sidecar/shutdown.ts"],
  },
];

/** The index of the layer a sidecar file belongs to, or undefined when the table does not place it. */
export function layerOf(file: string): number | undefined {
  const index = SIDECAR_LAYERS.findIndex((layer) =>
    layer.paths.some((path) =>
      path.endsWith("/") ? file.startsWith(path) && !file.slice(path.length).includes("/") : file === path,
    ),
  );
  return index === -1 ? undefined : index;
}
