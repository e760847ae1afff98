// The sidecar's lifecycle: wire the components, load the policy (an invalid first policy is a startup
// error), then serve the MCP endpoint and the admin port. What is in flight is tracked in in-flight.ts
// and the graceful shutdown is shutdown.ts.
import { hostname } from "node:os";
import type { KubeConfig } from "@kubernetes/client-node";
import type { Clock } from "../kube/clock.ts";
import { createApprovalRuntime, type ApprovalRuntime } from "./approvals/runtime.ts";
import { parsePolicyUrl } from "./policy-sources/kubernetes.ts";
import type { AddressInfo, Server } from "node:net";
import { formatProblem } from "../policy/paths.ts";
import { errorMessage } from "../program/logging.ts";
import { KUBERNETES_POLICY_SCHEME } from "../program/sidecar-environment.ts";
import { VERSION } from "../program/version.ts";
import { createAdminServer } from "./admin-server.ts";
import type { SidecarConfig } from "./config.ts";
import { Enforcer } from "./enforcement/enforcer.ts";
import { KnownTargets, TargetEnforcer } from "./enforcement/target-enforcer.ts";
import { ToolLister } from "./enforcement/tool-lister.ts";
import { KnownTools } from "./enforcement/tool-names.ts";
import { DriftMonitor } from "./pins/drift-monitor.ts";
import { createDriftReporter } from "./pins/drift-events.ts";
import { Authenticator } from "./identity/authenticator.ts";
import { InFlightExchanges } from "./in-flight.ts";
import { createLoggers, type Loggers } from "./observability/logging.ts";
import { SidecarMetrics } from "./observability/metrics.ts";
import { startSidecarTracing, stopTracing } from "./observability/sidecar-tracing.ts";
import { PolicyHolder } from "./policy-holder.ts";
import type { PolicySource } from "./policy-source.ts";
import { createPolicySource } from "./policy-sources/index.ts";
import { ConnectionTracker } from "./proxy/connections.ts";
import { createMcpServer } from "./proxy/mcp-server.ts";
import { RequestIds } from "./proxy/request-ids.ts";
import { Upstream } from "./proxy/upstream.ts";
import type { StoreFactory } from "./rate-limit-store.ts";
import { SessionTable } from "./sessions.ts";
import { shutDownGracefully } from "./shutdown.ts";

export interface SidecarOptions {
  config: SidecarConfig;
  loggers?: Loggers;
  /** Defaults to the source `config.policy` names. */
  source?: PolicySource;
  stores?: StoreFactory;
  /** Node process metrics on /metrics (default true). */
  processMetrics?: boolean;
  /**
   * The Kubernetes API configuration for a `k8s://` policy and its approvals; defaults to the
   * in-cluster configuration (the pod's projected token).
   */
  kubeConfig?: KubeConfig;
  /** This sidecar's name on the approvals it uses; defaults to POD_NAME, else the host name (a pod's name). */
  podName?: string;
  /** Time for holding calls that wait for approval (tests inject one). */
  clock?: Clock;
}

export interface RunningSidecar {
  /** The MCP endpoint, e.g. http://127.0.0.1:8080/mcp. */
  readonly url: string;
  readonly adminUrl: string;
  readonly holder: PolicyHolder;
  readonly metrics: SidecarMetrics;
  readonly sessions: SessionTable;
  readonly source: PolicySource;
  /** Calls held for approval and the approvals behind them. */
  readonly approvals: ApprovalRuntime["approvals"];
  /** Graceful: stop accepting, finish in-flight exchanges within the grace period, release everything. */
  shutdown(graceMs?: number): Promise<void>;
}

/** The sidecar cannot start; `problems` lists why (e.g. every problem of an invalid policy). */
export class StartupError extends Error {
  readonly problems: readonly string[];

  constructor(message: string, problems: readonly string[] = []) {
    super(message);
    this.name = "StartupError";
    this.problems = problems;
  }
}

export async function startSidecar(options: SidecarOptions): Promise<RunningSidecar> {
  const { config } = options;
  const loggers = options.loggers ?? createLoggers({ level: config.logLevel });
  const { log } = loggers;
  const podName = options.podName ?? process.env.POD_NAME ?? hostname();
  const metrics = new SidecarMetrics({ version: VERSION }, { processMetrics: options.processMetrics });
  const holder = new PolicyHolder({ metrics, log, stores: options.stores });
  const authenticator = new Authenticator({
    log,
    apiKeysFile: config.apiKeysFile,
    kubernetesApi: config.kubernetesApi,
    watch: { debounceMs: config.reloadDebounceMs },
  });
  holder.onChange((policy) => void authenticator.configure(policy.spec.identity));
  const knownTools = new KnownTools(10_000, (n) => metrics.upstreamToolNames.set(n));
  // Declared input schemas are compiled ahead of calls only while the policy checks them (strict).
  knownTools.inputSchemas.warmWhile(false);
  holder.onChange((policy) => knownTools.inputSchemas.warmWhile(policy.strictArguments !== undefined));
  const sessions = new SessionTable({
    maxSessions: config.maxSessions,
    maxSessionsPerGrant: config.maxSessionsPerGrant,
    idleTimeoutMs: config.sessionIdleTimeoutMs,
    onSize: (n) => metrics.sessions.set(n),
  });
  const upstream = new Upstream({
    url: config.upstream,
    connectTimeoutMs: config.upstreamConnectTimeoutMs,
    headersTimeoutMs: config.upstreamHeadersTimeoutMs,
    keepAliveTimeoutMs: config.upstreamKeepAliveTimeoutMs,
    maxConnections: config.upstreamMaxConnections,
  });
  const enforcer = new Enforcer({ holder, metrics, audit: loggers.audit, log, knownTools });
  const tracing = await startSidecarTracing(config, holder, metrics, log, VERSION).catch(async (err: unknown) => {
    authenticator.close();
    await Promise.all([upstream.close(), holder.close()]);
    throw new StartupError(`tracing: ${errorMessage(err)}`);
  });
  const targets = new TargetEnforcer({ holder, metrics, audit: loggers.audit, log, known: new KnownTargets() });
  // The sidecar's own view of the upstream's catalogue (tool names for metrics, declared input
  // schemas, how a missing tool is answered): always on, in the background; nothing waits for it.
  const toolLister = new ToolLister({ url: config.upstream, knownTools, log, version: VERSION });
  toolLister.start();
  const driftReporter = createDriftReporter(config.policy, { kubeConfig: options.kubeConfig, podName, log });
  const drift = new DriftMonitor({
    holder,
    live: knownTools.definitions,
    metrics,
    audit: loggers.audit,
    report: (snapshot) => driftReporter?.report(snapshot),
  });

  // What every exit releases, a failed start or a shutdown (an upstream already destroyed may refuse to close).
  const release = async () => {
    authenticator.close();
    drift.stop();
    await Promise.all([
      upstream.close().catch(() => undefined),
      holder.close(),
      toolLister.stop(),
      driftReporter?.stop(),
      stopTracing(tracing),
    ]);
  };
  const source = await startPolicySource(options, holder, log, release);
  const approvals = await startApprovals(options, source, podName, log).catch(async (err: unknown) => {
    await Promise.all([source.stop(), release()]);
    throw err;
  });
  await authenticator.configure(holder.current?.spec.identity);

  const inFlight = new InFlightExchanges();
  const requestIds = new RequestIds(config.maxSessions);
  const app = createMcpServer({
    config,
    upstream,
    enforcer,
    targets,
    holder,
    sessions,
    knownTools,
    metrics,
    log,
    authenticator,
    inFlight,
    approvalRuntime: approvals,
    requestIds,
    tracing,
  });
  const connections = new ConnectionTracker(app.server);
  inFlight.attach(connections);
  const admin = createAdminServer(metrics, {
    notReadyBecause: () => (inFlight.shuttingDown ? "shutting down" : holder.current ? undefined : "no policy loaded"),
  });
  try {
    await admin.listen({ host: config.adminListen.host, port: config.adminListen.port });
    await app.listen({ host: config.listen.host, port: config.listen.port });
  } catch (err) {
    await Promise.all([admin.close(), app.close(), source.stop(), release(), approvals.stop()]);
    throw listenFailure(err);
  }
  const url = `http://${hostFor(app)}${config.upstream.pathname}`;
  log.info(
    { listen: url, admin: `http://${hostFor(admin)}`, upstream: config.upstream.href, policy: source.description },
    "sidecar started",
  );

  let shutdown: Promise<void> | undefined;
  return {
    url,
    adminUrl: `http://${hostFor(admin)}`,
    holder,
    metrics,
    sessions,
    source,
    approvals: approvals.approvals,
    shutdown(graceMs = config.shutdownGraceMs) {
      shutdown ??= shutDownGracefully(
        {
          log,
          inFlight,
          connections,
          held: approvals.held,
          app,
          upstream,
          release: async () => {
            await source.stop();
            await Promise.all([release(), admin.close(), approvals.stop()]);
          },
          flushLogs: () => loggers.flush(),
        },
        graceMs,
      );
      return shutdown;
    },
  };
}

/** The policy source, started; an unreadable or invalid first policy is a startup error (after `release`). */
async function startPolicySource(
  options: SidecarOptions,
  holder: PolicyHolder,
  log: Loggers["log"],
  release: () => Promise<void>,
): Promise<PolicySource> {
  const { config } = options;
  let source: PolicySource;
  try {
    source =
      options.source ??
      createPolicySource(config.policy, {
        file: { debounceMs: config.reloadDebounceMs },
        ...(options.kubeConfig ? { kubernetes: { kubeConfig: options.kubeConfig } } : {}),
      });
  } catch (err) {
    await release();
    throw new StartupError(errorMessage(err));
  }
  try {
    await source.start(holder.handlers());
  } catch (err) {
    await release();
    throw new StartupError(`cannot read the policy from ${source.description}: ${errorMessage(err)}`);
  }
  if (!holder.current && holder.lastRejection) {
    await Promise.all([source.stop(), release()]);
    throw new StartupError(`the policy from ${source.description} is invalid`, holder.lastRejection.map(formatProblem));
  }
  if (!holder.current)
    log.warn({ source: source.description }, "no policy yet: not ready, and every tool call is denied until one loads");
  return source;
}

/**
 * Approvals, once the policy source has started: a k8s:// source has found its Kubernetes
 * configuration by now (or failed with a startup error that says so), and approvals live beside
 * that policy.
 */
async function startApprovals(
  options: SidecarOptions,
  source: PolicySource,
  podName: string,
  log: Loggers["log"],
): Promise<ApprovalRuntime> {
  const { config } = options;
  const policyRef = config.policy.startsWith(KUBERNETES_POLICY_SCHEME) ? parsePolicyUrl(config.policy) : undefined;
  try {
    return await createApprovalRuntime({
      policy: policyRef,
      kubeConfig: options.kubeConfig,
      podName,
      keepAliveMs: config.approvalKeepAliveMs,
      requestStateKeyFile: config.approvalStateKeyFile,
      ...(options.clock ? { clock: options.clock } : {}),
      log,
    });
  } catch (err) {
    throw new StartupError(`cannot watch approvals beside ${source.description}: ${errorMessage(err)}`);
  }
}

function listenFailure(err: unknown): StartupError {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  return new StartupError(
    e.code === "EADDRINUSE"
      ? `cannot listen on ${e.address}:${e.port}: the address is in use`
      : `cannot listen: ${e.message}`,
  );
}

function hostFor(app: { readonly server: Server }): string {
  const address = app.server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return `${host}:${address.port}`;
}
