// Resolves `--policy`: `k8s://<namespace>/<name>` names an McpPolicy in the Kubernetes API, anything
// else is a file path.
import type { PolicySource } from "../policy-source.ts";
import { FilePolicySource, type FilePolicySourceOptions } from "./file.ts";

export interface PolicySourceOptions {
  file?: FilePolicySourceOptions;
}

export interface KubernetesPolicyRef {
  namespace: string;
  name: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** Parses `k8s://<namespace>/<name>`; throws with what is wrong. */
export function parseKubernetesRef(ref: string): KubernetesPolicyRef {
  const rest = ref.slice("k8s://".length);
  const [namespace, name, ...extra] = rest.split("/");
  if (!namespace || !name || extra.length > 0) throw new Error(`--policy ${ref}: expected k8s://<namespace>/<name>`);
  if (namespace.length > 63 || !DNS_LABEL.test(namespace)) throw new Error(`--policy ${ref}: "${namespace}" is not a valid namespace name`);
  if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) throw new Error(`--policy ${ref}: "${name}" is not a valid McpPolicy name`);
  return { namespace, name };
}

export function createPolicySource(ref: string, options: PolicySourceOptions = {}): PolicySource {
  if (ref.startsWith("k8s://")) {
    const { namespace, name } = parseKubernetesRef(ref);
    throw new Error(
      `--policy ${ref}: reading McpPolicy ${namespace}/${name} from the Kubernetes API is not available in this build; ` +
        `mount the policy as a file and pass its path instead`,
    );
  }
  if (ref.trim() === "") throw new Error("--policy is empty: give a policy file or k8s://<namespace>/<name>");
  return new FilePolicySource(ref, options.file);
}
