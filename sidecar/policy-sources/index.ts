// Resolves `--policy`: `k8s://<namespace>/<name>` names an McpPolicy in the Kubernetes API, anything
// else is a file path.
import type { PolicySource } from "../policy-source.ts";
import { FilePolicySource, type FilePolicySourceOptions } from "./file.ts";
import { KubernetesPolicySource, parsePolicyUrl, type KubernetesPolicySourceOptions } from "./kubernetes.ts";

export interface PolicySourceOptions {
  file?: FilePolicySourceOptions;
  kubernetes?: Omit<KubernetesPolicySourceOptions, "namespace" | "name">;
}

export function createPolicySource(ref: string, options: PolicySourceOptions = {}): PolicySource {
  if (ref.startsWith("k8s://")) return new KubernetesPolicySource({ ...parsePolicyUrl(ref), ...options.kubernetes });
  if (ref.trim() === "") throw new Error("--policy is empty: give a policy file or k8s://<namespace>/<name>");
  return new FilePolicySource(ref, options.file);
}
