// A real control plane with mcp-warden installed from the chart's manifests (CRDs, operator RBAC,
// the mutating webhook pointing at the operator) and the operator running in this process, for suites
// that need policies with a status and injected pods. kubectl and the mcp-warden kubectl plugin run as
// a user would run them: found on PATH, configured by KUBECONFIG, with no flag before the plugin's name.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startOperator, type RunningOperator } from "../../operator/operator.ts";
import { createLogger } from "../../program/logging.ts";
import { startControlPlane, type ControlPlane } from "../cluster/harness.ts";
import { applyWebhookConfiguration, installMcpWarden } from "../cluster/install.ts";
import { inProcessOperatorOptions } from "../cluster/operator-process.ts";
import { runPeer, type RunResult } from "./processes.ts";
import { freePort } from "./ports.ts";

export const REPO = join(import.meta.dirname, "..", "..");

export interface OperatorCluster {
  cluster: ControlPlane;
  operator: RunningOperator;
  /** A shell environment like a user's after `npm install -g .`: mcp-warden, the kubectl plugin and the
   * cluster's kubectl on PATH, KUBECONFIG set to the admin's, a HOME of its own. */
  env: NodeJS.ProcessEnv;
  /** Runs a command line through `sh -c` in that environment, from the repository's root or `cwd`. */
  sh(command: string, options?: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string }): Promise<RunResult>;
  stop(): Promise<void>;
}

/** `install: false` leaves installing mcp-warden (`npm install --global .`) to the test. */
export async function startOperatorCluster(
  name: string,
  options: { install?: boolean } = {},
): Promise<OperatorCluster> {
  const cluster = await startControlPlane({ name });
  const home = mkdtempSync(join(tmpdir(), "mcp-warden-user-"));
  let operator: RunningOperator | undefined;
  try {
    const installation = await installMcpWarden(cluster);
    operator = await startOperator({
      ...inProcessOperatorOptions(installation, { identity: `${name}-operator`, webhookPort: await freePort() }),
      leaseTimings: { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 },
      resyncIntervalMs: 2_000,
      ...(process.env.MCP_WARDEN_TEST_LOG === "1" ? { logger: createLogger("operator", { level: "debug" }) } : {}),
    });
    await applyWebhookConfiguration(
      cluster,
      installation.names,
      `https://127.0.0.1:${operator.webhookPort}/mutate-pods`,
    );
  } catch (error) {
    await operator?.stop();
    await cluster.stop();
    throw error;
  }

  // The user's tools: the cluster's kubectl, and mcp-warden installed the way docs/kestra.md says
  // (`npm install -g .` from a checkout), into a prefix of this HOME; the system's Node stays first.
  const bin = join(home, "bin");
  mkdirSync(bin);
  symlinkSync(cluster.binaries.kubectl, join(bin, "kubectl"));
  const prefix = join(home, "npm-global");
  const env: NodeJS.ProcessEnv = {
    // Nothing of the npm running this suite (its npm_* settings) or of the developer's cluster.
    ...Object.fromEntries(
      Object.keys(process.env)
        .filter((k) => k.startsWith("npm_") || k.startsWith("KUBE"))
        .map((k) => [k, undefined]),
    ),
    PATH: [join(prefix, "bin"), bin, "/usr/local/bin", "/usr/bin", "/bin"].join(":"),
    HOME: home,
    KUBECONFIG: cluster.adminKubeconfigPath,
    KUBECACHEDIR: join(home, ".kube", "cache"),
    npm_config_prefix: prefix,
  };
  const install =
    options.install === false
      ? { code: 0, stderr: "" }
      : await runPeer("npm", ["install", "--global", "--no-audit", "--no-fund", REPO], { env, timeoutMs: 120_000 });
  if (install.code !== 0) {
    await operator.stop();
    await cluster.stop();
    throw new Error(`npm install --global failed:\n${install.stderr}`);
  }
  const running = operator;
  return {
    cluster,
    operator: running,
    env,
    sh: (command, shOptions = {}) =>
      runPeer("/bin/sh", ["-c", `cd "${shOptions.cwd ?? REPO}" && ${command}`], {
        env: { ...env, ...shOptions.env },
        input: shOptions.input ?? "",
        timeoutMs: 60_000,
      }),
    async stop() {
      await running.stop();
      await cluster.stop();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
