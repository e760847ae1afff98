// Finds the control-plane binaries that build-binaries.sh puts in the cache, by the same rule:
// $MCP_WARDEN_CACHE (default ~/.cache/mcp-warden) /bin/k8s-v<kube>-etcd-v<etcd>-helm-v<helm>,
// with the versions read from versions.env. Missing binaries are an error, never a reason to skip.
import { accessSync, constants, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export interface ControlPlaneVersions {
  kubernetes: string;
  etcd: string;
  helm: string;
}

export interface ControlPlaneBinaries {
  dir: string;
  versions: ControlPlaneVersions;
  etcd: string;
  kubeApiServer: string;
  kubeControllerManager: string;
  kubectl: string;
  helm: string;
}

const versionsFile = join(import.meta.dirname, "versions.env");
const buildScript = join(import.meta.dirname, "build-binaries.sh");

export function readControlPlaneVersions(text = readFileSync(versionsFile, "utf8")): ControlPlaneVersions {
  const values = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^\s*([A-Z_]+)=([0-9A-Za-z.+-]+)\s*$/.exec(line);
    if (match) values.set(match[1]!, match[2]!);
  }
  const get = (key: string): string => {
    const value = values.get(key);
    if (!value) throw new Error(`${versionsFile} does not set ${key}`);
    return value;
  };
  return { kubernetes: get("KUBE_VERSION"), etcd: get("ETCD_VERSION"), helm: get("HELM_VERSION") };
}

export function controlPlaneBinDir(versions: ControlPlaneVersions, env: NodeJS.ProcessEnv = process.env): string {
  const cache = env.MCP_WARDEN_CACHE || join(homedir(), ".cache", "mcp-warden");
  return join(cache, "bin", `k8s-v${versions.kubernetes}-etcd-v${versions.etcd}-helm-v${versions.helm}`);
}

/** The cached binaries, checked to exist and be executable; throws naming the command that builds them. */
export function findControlPlaneBinaries(env: NodeJS.ProcessEnv = process.env): ControlPlaneBinaries {
  const versions = readControlPlaneVersions();
  const dir = controlPlaneBinDir(versions, env);
  const binaries: ControlPlaneBinaries = {
    dir,
    versions,
    etcd: join(dir, "etcd"),
    kubeApiServer: join(dir, "kube-apiserver"),
    kubeControllerManager: join(dir, "kube-controller-manager"),
    kubectl: join(dir, "kubectl"),
    helm: join(dir, "helm"),
  };
  const missing = [
    binaries.etcd,
    binaries.kubeApiServer,
    binaries.kubeControllerManager,
    binaries.kubectl,
    binaries.helm,
  ].filter((file) => !isExecutable(file));
  if (missing.length > 0) {
    throw new Error(
      `the real control plane's binaries are missing: ${missing.join(", ")}. ` +
        `Build them with \`bash ${buildScript}\` (npm test does this through scripts/prerequisites.sh; ` +
        `a cold build takes about ten minutes and needs Go and the Go module proxy).`,
    );
  }
  return binaries;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
