// Runs the kubectl built with the control plane (same version as the API server).
import { execFile } from "node:child_process";

export interface KubectlOptions {
  /** Written to kubectl's stdin, e.g. manifests for `apply -f -`. */
  input?: string;
  /** Another kubeconfig than the admin one, e.g. a non-admin user's from userCredentials(). */
  kubeconfig?: string;
  timeoutMs?: number;
}

export interface KubectlResult {
  stdout: string;
  stderr: string;
}

export class KubectlError extends Error {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;

  constructor(args: string[], exitCode: number | null, stdout: string, stderr: string) {
    super(`kubectl ${args.join(" ")} failed (exit code ${exitCode}): ${stderr.trim() || stdout.trim()}`);
    this.name = "KubectlError";
    this.exitCode = exitCode;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

export interface KubectlContext {
  binary: string;
  /** The default kubeconfig (the admin's). */
  kubeconfig: string;
  /** Discovery and HTTP cache; kubectl's default is under ~/.kube, which tests must not fill. */
  cacheDir: string;
}

/** Resolves with kubectl's output; rejects with a KubectlError (exit code, stdout, stderr) when it fails. */
export async function runKubectl(context: KubectlContext, args: string[], options: KubectlOptions = {}): Promise<KubectlResult> {
  const fullArgs = [`--kubeconfig=${options.kubeconfig ?? context.kubeconfig}`, `--cache-dir=${context.cacheDir}`, ...args];
  return await new Promise((resolve, reject) => {
    const child = execFile(context.binary, fullArgs, { timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        const code = typeof error.code === "number" ? error.code : null;
        reject(new KubectlError(args, code, stdout, error.killed ? `${stderr}\n(killed after timeout)` : stderr));
      } else {
        resolve({ stdout, stderr });
      }
    });
    child.stdin?.end(options.input ?? "");
  });
}
