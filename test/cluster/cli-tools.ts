// Runs the command-line tools built with the control plane (kubectl of the API server's version,
// helm) against it, with their caches and settings kept in the control plane's temp dir rather
// than under ~/.kube, ~/.cache/helm or ~/.config/helm.
import { execFile } from "node:child_process";
import { join } from "node:path";

export interface ToolOptions {
  /** Written to the tool's stdin, e.g. manifests for `kubectl apply -f -`. */
  input?: string;
  /** Another kubeconfig than the admin one, e.g. a non-admin user's from userCredentials(). */
  kubeconfig?: string;
  timeoutMs?: number;
}

export interface ToolResult {
  stdout: string;
  stderr: string;
}

/** A tool that exited non-zero: its exit code and both outputs. */
export class ToolError extends Error {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;

  constructor(tool: string, args: string[], exitCode: number | null, stdout: string, stderr: string) {
    super(`${tool} ${args.join(" ")} failed (exit code ${exitCode}): ${stderr.trim() || stdout.trim()}`);
    this.exitCode = exitCode;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

export class KubectlError extends ToolError {
  override readonly name = "KubectlError";
}

export class HelmError extends ToolError {
  override readonly name = "HelmError";
}

export interface ToolContext {
  kubectl: string;
  helm: string;
  /** The default kubeconfig (the admin's). */
  kubeconfig: string;
  /** The control plane's temp dir, for the tools' caches and settings. */
  dir: string;
}

export async function runKubectl(context: ToolContext, args: string[], options: ToolOptions = {}): Promise<ToolResult> {
  const fullArgs = [
    `--kubeconfig=${options.kubeconfig ?? context.kubeconfig}`,
    `--cache-dir=${join(context.dir, "kubectl-cache")}`,
    ...args,
  ];
  return await run(
    context.kubectl,
    fullArgs,
    options,
    process.env,
    (code, stdout, stderr) => new KubectlError("kubectl", args, code, stdout, stderr),
  );
}

export async function runHelm(context: ToolContext, args: string[], options: ToolOptions = {}): Promise<ToolResult> {
  const home = join(context.dir, "helm");
  const env = {
    ...process.env,
    HELM_CACHE_HOME: join(home, "cache"),
    HELM_CONFIG_HOME: join(home, "config"),
    HELM_DATA_HOME: join(home, "data"),
  };
  const fullArgs = [`--kubeconfig=${options.kubeconfig ?? context.kubeconfig}`, ...args];
  return await run(
    context.helm,
    fullArgs,
    options,
    env,
    (code, stdout, stderr) => new HelmError("helm", args, code, stdout, stderr),
  );
}

type ErrorFactory = (exitCode: number | null, stdout: string, stderr: string) => ToolError;

async function run(
  binary: string,
  args: string[],
  options: ToolOptions,
  env: NodeJS.ProcessEnv,
  fail: ErrorFactory,
): Promise<ToolResult> {
  return await new Promise((resolve, reject) => {
    const child = execFile(
      binary,
      args,
      { env, timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          const code = typeof error.code === "number" ? error.code : null;
          reject(
            fail(code, stdout, error.killed ? `${stderr}\n(killed after ${options.timeoutMs ?? 60_000} ms)` : stderr),
          );
        } else {
          resolve({ stdout, stderr });
        }
      },
    );
    child.stdin?.end(options.input ?? "");
  });
}
