// Renders and lints charts/mcp-warden with the helm built alongside the test control plane (its
// cache and settings in a temp dir), for the chart's tests.
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { findControlPlaneBinaries } from "../cluster/binaries.ts";

export const CHART_DIR = join(import.meta.dirname, "..", "..", "charts", "mcp-warden");
export const SCENARIOS = ["cert-manager", "monitoring", "network-policy", "single-replica"] as const;
export const scenarioFile = (name: (typeof SCENARIOS)[number]) => join(CHART_DIR, "ci", `${name}-values.yaml`);

export interface KubeDocument {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

export interface RenderOptions {
  namespace?: string;
  valuesFiles?: string[];
  /** --set-json entries: path → any JSON value. */
  set?: Record<string, unknown>;
  releaseName?: string;
  /** Render only these templates (paths inside the chart, e.g. templates/rbac.yaml). */
  showOnly?: string[];
  /** --kube-version; the test API server's by default. */
  kubeVersion?: string;
}

let helmHome: string | undefined;

/** Runs the built helm; resolves with stdout, rejects with its stderr (warnings about the crds/ symlink dropped). */
export function helm(args: string[]): Promise<string> {
  const binaries = findControlPlaneBinaries();
  helmHome ??= mkdtempSync(join(tmpdir(), "mcp-warden-helm-"));
  const env = {
    ...process.env,
    HELM_CACHE_HOME: join(helmHome, "cache"),
    HELM_CONFIG_HOME: join(helmHome, "config"),
    HELM_DATA_HOME: join(helmHome, "data"),
  };
  return new Promise((resolve, reject) => {
    execFile(binaries.helm, args, { env, maxBuffer: 64 * 1024 * 1024, timeout: 60_000 }, (error, stdout, stderr) => {
      const messages = stderr
        .split("\n")
        .filter((line) => line && !/found symbolic link in path/.test(line))
        .join("\n");
      if (error) reject(new Error(`helm ${args.slice(0, 2).join(" ")} failed: ${messages || stdout}`));
      else resolve(stdout);
    });
  });
}

/** The Kubernetes version the chart is rendered for: the test API server's. */
export const kubeVersion = () => findControlPlaneBinaries().versions.kubernetes;

export function templateArgs(options: RenderOptions = {}): string[] {
  return [
    "template",
    options.releaseName ?? "mcp-warden",
    CHART_DIR,
    "--namespace",
    options.namespace ?? "mcp-warden",
    "--kube-version",
    options.kubeVersion ?? kubeVersion(),
    ...(options.valuesFiles ?? []).flatMap((file) => ["--values", file]),
    ...Object.entries(options.set ?? {}).flatMap(([path, value]) => ["--set-json", `${path}=${JSON.stringify(value)}`]),
    ...(options.showOnly ?? []).flatMap((template) => ["--show-only", template]),
  ];
}

export async function renderChart(options: RenderOptions = {}): Promise<KubeDocument[]> {
  const text = await helm(templateArgs(options));
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as KubeDocument | null)
    .filter((doc): doc is KubeDocument => doc !== null);
}

export function find<T = KubeDocument>(docs: KubeDocument[], kind: string, name?: string): T | undefined {
  return docs.find((d) => d.kind === kind && (name === undefined || d.metadata.name === name)) as T | undefined;
}

export function get<T = KubeDocument>(docs: KubeDocument[], kind: string, name?: string): T {
  const doc = find<T>(docs, kind, name);
  if (!doc)
    throw new Error(
      `the chart rendered no ${kind}${name ? ` ${name}` : ""} (it rendered ${docs.map((d) => `${d.kind}/${d.metadata.name}`).join(", ")})`,
    );
  return doc;
}
