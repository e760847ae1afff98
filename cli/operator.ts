// `mcp-warden operator`: reads its settings (flags, and the environment a Deployment provides: see
// operator/config.ts), then runs the operator until SIGTERM or SIGINT, shutting down gracefully.
import { loadKubeConfig } from "../kube/kubeconfig.ts";
import { operatorHelp, operatorUsage, parseOperatorConfig } from "../operator/config.ts";
import { startOperator } from "../operator/operator.ts";
import { parseHostPort, type HostPort } from "../program/host-port.ts";
import { createLogger, errorMessage } from "../program/logging.ts";
import { VERSION } from "../program/version.ts";

export { operatorHelp, operatorUsage };

export async function runOperator(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const config = parseOperatorConfig(argv, env);
  let kubeConfig;
  try {
    kubeConfig = loadKubeConfig({ kubeconfig: config.kubeconfig, env });
  } catch (error) {
    process.stderr.write(`mcp-warden operator: ${errorMessage(error)}\n`);
    return 1;
  }
  const operator = await startOperator({
    ...config.operator,
    kubeConfig,
    version: VERSION,
    logger: createLogger("operator", { level: config.logLevel }),
  });
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  await operator.stop();
  return 0;
}

/** A listen address as the operator reads it (HOST:PORT; `flag` names it in the error). */
export function hostPort(value: string, flag: string): HostPort {
  return parseHostPort(value, flag);
}
