// Where the sidecar's policy comes from: a file (`--policy FILE`) or the Kubernetes API
// (`--policy k8s://<namespace>/<name>`). A source only reads and parses; compiling, keeping the last
// good policy and counting reloads is the consumer's job, so every source behaves the same way.
import type { LoadedPolicy } from "../policy/load.ts";
import type { PolicyError } from "../policy/paths.ts";

export interface PolicySourceHandlers {
  /** A new version of the policy document, parsed and schema-valid. */
  policy(loaded: LoadedPolicy): void;
  /** A new version that is not valid; the consumer keeps the policy it has. */
  invalid(error: PolicyError): void;
  /** The source cannot reach its policy right now (file unreadable, API down); it keeps trying. */
  trouble(error: Error): void;
}

export interface PolicySource {
  /** For logs: "file /etc/mcp-warden/policy.yaml", "McpPolicy agents/kestra". */
  readonly description: string;
  /** Starts delivering; resolves once the first attempt to read the policy has been made. */
  start(handlers: PolicySourceHandlers): Promise<void>;
  stop(): Promise<void>;
}
