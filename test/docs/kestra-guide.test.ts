// docs/kestra.md, run as written: every shell command of the guide in order, as a user would type
// it (mcp-warden installed with npm, the real kubectl with the plugin on PATH), against a real API
// server with the operator installed, from a copy of examples/kestra; each output the guide shows is
// compared with the real one, each excerpt with the file, each query with a real Prometheus scraping
// the sidecar.
//
// The test cluster has no kubelet, so three commands that need one are stood in for, declared in
// STAND_INS below: the pods' containers run as local processes from their injected specs
// (test/support/injected-pod.ts), and their status is reported as a kubelet would
// (test/support/kubelet-stand-in.ts).
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CoreV1Api } from "@kubernetes/client-node";
import { parse } from "yaml";
import { kestraServerCommand } from "../../operator/injector/mutate.ts";
import { runInjectedPod, type RunningPod } from "../support/injected-pod.ts";
import { startKubeletStandIn, type KubeletStandIn } from "../support/kubelet-stand-in.ts";
import { REPO, startOperatorCluster, type OperatorCluster } from "../support/operator-cluster.ts";
import { startPrometheus, type RunningPrometheus } from "../support/prometheus.ts";
import { runPeer, venvPython } from "../support/processes.ts";
import { commandsOf, fencedBlocks, type Block } from "./markdown.ts";
import { fileTargets, sameAuditLine, sameOutput, withGrafanaVariables } from "./outputs.ts";
import { eventually } from "../support/eventually.ts";

interface DashboardJson {
  panels: { title: string; targets: { expr: string }[] }[];
  templating: { list: { name: string; definition?: string }[] };
}

const GUIDE = readFileSync(join(REPO, "docs", "kestra.md"), "utf8");
const EXAMPLES = join(REPO, "examples", "kestra");

type Step =
  | { kind: "commands"; block: Block; commands: string[]; expected: Block | undefined }
  | { kind: "excerpt"; block: Block; file: string }
  | { kind: "queries"; block: Block; queries: string[] };

/** The guide's checkable blocks in order: shell commands (with the output shown after them, that
 * of the last command), excerpts of files (`<!-- excerpt: FILE -->`), and PromQL queries. */
function steps(): Step[] {
  const blocks = fencedBlocks(GUIDE);
  return blocks.flatMap((block, i): Step[] => {
    if (block.lang === "sh") {
      const next = blocks[i + 1];
      return [
        { kind: "commands", block, commands: commandsOf(block), expected: next?.lang === "text" ? next : undefined },
      ];
    }
    if (block.marker?.startsWith("excerpt: "))
      return [{ kind: "excerpt", block, file: block.marker.slice("excerpt: ".length) }];
    if (block.lang === "promql") return [{ kind: "queries", block, queries: block.text.split("\n").filter(Boolean) }];
    if (block.lang !== "text") throw new Error(`line ${block.line}: a ${block.lang} block this test does not check`);
    return [];
  });
}

describe("docs/kestra.md, run as written", { timeout: 600_000 }, () => {
  let oc: OperatorCluster;
  let kubelet: KubeletStandIn;
  let workdir: string;
  let cwd = REPO;
  let pod: RunningPod | undefined;
  let prometheus: RunningPrometheus | undefined;

  /** The first kestra-mcp pod, its containers run here; started on first need. */
  const kestraPod = async (): Promise<RunningPod> => {
    if (pod) return pod;
    const pods = (
      await oc.cluster.client(CoreV1Api).listNamespacedPod({ namespace: "agents", labelSelector: "app=kestra" })
    ).items;
    const name = pods.map((p) => p.metadata?.name as string).sort()[0] as string;
    pod = await runInjectedPod(oc, "agents", name);
    return pod;
  };

  /** agent.py, with the environment agent-pod.yaml gives it and a token minted as its projected volume is. */
  const runAgent = async (): Promise<string> => {
    const agentPod = parse(readFileSync(join(workdir, "agent-pod.yaml"), "utf8")) as {
      spec: {
        containers: { env: { name: string; value: string }[] }[];
        volumes: {
          projected?: { sources: { serviceAccountToken: { audience: string; expirationSeconds: number } }[] };
        }[];
      };
    };
    const projected = agentPod.spec.volumes.find((v) => v.projected)?.projected?.sources[0]?.serviceAccountToken;
    const token = await ok(
      `kubectl create token kestra-agent -n agents --audience ${projected?.audience} --duration ${projected?.expirationSeconds}s`,
    );
    const tokenFile = join(workdir, "agent-token");
    writeFileSync(tokenFile, token);
    const running = await kestraPod();
    assert.equal(
      agentPod.spec.containers[0]?.env.find((e) => e.name === "KESTRA_MCP_URL")?.value,
      "http://kestra-mcp.agents:8000/mcp",
    );
    const result = await runPeer(venvPython(), [join(workdir, "agent.py")], {
      env: { KESTRA_MCP_URL: running.url, KESTRA_MCP_TOKEN_FILE: tokenFile },
    });
    assert.equal(result.code, 0, result.stderr);
    return result.stdout;
  };

  /** A real Prometheus with the guide's prometheus.yml, its Kubernetes discovery replaced by a file
   * listing these pods as that discovery would (Debian's Prometheus is built without it), so the
   * guide's relabelling decides what is scraped; plus the local sidecar's admin port as a target. */
  const prometheusScrapingThePod = async (): Promise<RunningPrometheus> => {
    if (prometheus) return prometheus;
    const running = await kestraPod();
    const pods = (await oc.cluster.client(CoreV1Api).listNamespacedPod({ namespace: "agents" })).items;
    writeFileSync(join(workdir, "pods.json"), JSON.stringify(fileTargets(pods)));
    const scrape = readFileSync(join(workdir, "prometheus.yml"), "utf8");
    const discovered = scrape.replace(
      /kubernetes_sd_configs:\n\s+- role: pod\n/,
      `file_sd_configs:\n      - files: [${join(workdir, "pods.json")}]\n`,
    );
    assert.notEqual(discovered, scrape);
    const prom = await startPrometheus({
      config: `${discovered.replace("scrape_interval: 15s", "scrape_interval: 1s")}
  - job_name: local-sidecar
    static_configs:
      - targets: ["${new URL(running.adminUrl).host}"]
        labels: {namespace: agents, pod: ${running.pod.metadata?.name}}
`,
    });
    prometheus = prom;
    const injected = pods.filter((p) => p.spec?.initContainers?.some((c) => c.name === "mcp-warden"));
    assert.equal(injected.length, 2);
    await eventually(
      async () => {
        const [activeTargets, droppedTargets] = [await prom.targets(), await prom.droppedTargets()];
        const kept = activeTargets.filter((t) => t.scrapePool === "mcp-warden-sidecars");
        assert.deepEqual(
          kept
            .map((t) => [
              t.labels.pod,
              t.labels.namespace,
              t.labels.mcp_policy,
              t.discoveredLabels.__address__?.split(":")[1],
            ])
            .sort(),
          injected.map((p) => [p.metadata?.name, "agents", "kestra", "9090"]).sort(),
          "prometheus.yml keeps one target per sidecar, its admin port, and nothing else",
        );
        assert.ok(droppedTargets.length >= 2, "the sidecars' other port was discovered, and dropped");
      },
      { timeoutMs: 20_000 },
    );
    // Traffic while Prometheus watches, as in a cluster where it scrapes all along: the agent again.
    await eventually(
      async () => assert.ok((await prom.query('count_over_time(up{job="local-sidecar"}[1m]) >= 2')).length > 0),
      { timeoutMs: 30_000 },
    );
    await runAgent();
    await eventually(
      async () =>
        assert.ok((await prom.query('increase(mcp_warden_tool_calls_total{decision="allowed"}[1m]) > 0')).length > 0),
      { timeoutMs: 30_000 },
    );
    return prom;
  };

  /** Commands that need a kubelet, and what stands in for them here. */
  const STAND_INS: { pattern: RegExp; why: string; run: (command: string) => Promise<string> }[] = [
    {
      pattern: /^kubectl logs -n agents kestra-agent$/,
      why: "the agent pod cannot run: agent.py runs here with the pod's environment and a token minted as its projected volume is",
      run: async () => await runAgent(),
    },
    {
      pattern: /^kubectl port-forward -n agents deployment\/kestra-mcp 9090 &$/,
      why: "no pod network: the sidecar's admin port is the local sidecar's, and localhost:9090 in later commands points there",
      run: async () => {
        await kestraPod();
        return "";
      },
    },
    {
      pattern: /^kubectl logs -n agents deployment\/kestra-mcp -c mcp-warden( \| .*)$/,
      why: "no container runtime: the local sidecar's standard output is the container log",
      run: async (command) =>
        await ok(
          command.replace(
            /^kubectl logs -n agents deployment\/kestra-mcp -c mcp-warden/,
            `cat "${(await kestraPod()).stdoutFile}"`,
          ),
        ),
    },
  ];

  const ok = async (command: string): Promise<string> => {
    const admin = pod ? new URL(pod.adminUrl).host : "localhost:9090";
    const result = await oc.sh(command.replaceAll("localhost:9090", admin), {
      cwd,
      env: { KESTRA_API_TOKEN: "kestra-token-for-tests" },
    });
    assert.equal(result.code, 0, `${command}\n${result.stderr}`);
    return result.stdout;
  };

  /** Before reading status, the operator has seen the pods as they are now (it resyncs every 2 s). */
  const operatorCaughtUp = async () => {
    await eventually(
      async () => {
        const core = oc.cluster.client(CoreV1Api);
        const pods = (await core.listNamespacedPod({ namespace: "agents", labelSelector: "app=kestra" })).items.filter(
          (p) => !p.metadata?.deletionTimestamp,
        );
        const status = parse(await ok("kubectl get mcpp kestra -n agents -o yaml")) as {
          metadata: { generation: number };
          status?: { observedGeneration?: number; selectedPods?: number; enforcedPods?: number };
        };
        assert.equal(status.status?.observedGeneration, status.metadata.generation);
        assert.equal(status.status?.selectedPods, pods.length);
        assert.equal(
          status.status?.enforcedPods,
          pods.filter((p) => p.spec?.initContainers?.some((c) => c.name === "mcp-warden")).length,
        );
      },
      { timeoutMs: 30_000 },
    );
  };

  const run = async (command: string): Promise<string> => {
    if (command === "cd examples/kestra") {
      cwd = workdir;
      return "";
    }
    const standIn = STAND_INS.find((s) => s.pattern.test(command));
    if (standIn) return await standIn.run(command);
    if (command.startsWith("kubectl mcp-warden status")) await operatorCaughtUp();
    const stdout = await ok(command);
    if (command.endsWith("> mcppolicy.yaml")) {
      assert.equal(
        readFileSync(join(workdir, "mcppolicy.yaml"), "utf8"),
        readFileSync(join(EXAMPLES, "mcppolicy.yaml"), "utf8"),
        "examples/kestra/mcppolicy.yaml is what the command prints",
      );
    }
    return stdout;
  };

  before(async () => {
    workdir = join(mkdtempSync(join(tmpdir(), "kestra-guide-")), "kestra");
    cpSync(EXAMPLES, workdir, { recursive: true });
    oc = await startOperatorCluster("kestra-guide", { install: false });
    kubelet = startKubeletStandIn(oc.cluster, "agents");
  });
  after(async () => {
    await prometheus?.stop();
    await pod?.stop();
    await kubelet?.stop();
    await oc?.stop();
  });

  for (const step of steps()) {
    if (step.kind === "commands") {
      it(`line ${step.block.line}: ${step.commands.join(" && ")}`, async () => {
        let output = "";
        for (const command of step.commands) output = await run(command);
        if (!step.expected) return;
        if (step.commands.at(-1)?.includes('grep \'"decision":')) sameAuditLine(output, step.expected.text);
        else sameOutput(output, step.expected.text, `the output shown at line ${step.expected.line}`);
      });
    } else if (step.kind === "excerpt") {
      it(`line ${step.block.line}: the excerpt of ${step.file} is in the file`, () => {
        const file = readFileSync(join(workdir, step.file), "utf8").split("\n");
        let at = 0;
        for (const line of step.block.text.split("\n")) {
          at = file.indexOf(line, at);
          assert.ok(at >= 0, `"${line}" is not in ${step.file} (in this order)`);
        }
      });
    } else {
      it(`line ${step.block.line}: the queries, and those of grafana-dashboard.json, return the sidecar's series in a real Prometheus`, async () => {
        const prom = await prometheusScrapingThePod();
        const dashboard = JSON.parse(readFileSync(join(workdir, "grafana-dashboard.json"), "utf8")) as DashboardJson;
        const queries = [...step.queries, ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr))];
        assert.equal(queries.length, 4 + 6);
        for (const query of queries)
          assert.ok((await prom.query(withGrafanaVariables(query))).length > 0, `no series for ${query}`);
        const namespaces = await prom.query(
          `group by (namespace) (${/^label_values\((\w+), namespace\)$/.exec(dashboard.templating.list[1]?.definition ?? "")?.[1]})`,
        );
        assert.deepEqual(
          namespaces.map((s) => s.metric.namespace),
          ["agents"],
          "the dashboard's namespace variable lists the namespace",
        );
        const refused = await prom.query(
          withGrafanaVariables(
            dashboard.panels.find((p) => p.title === "Refused calls by tool and reason")?.targets[0]?.expr as string,
          ),
        );
        assert.deepEqual(refused.map((s) => [s.metric.tool, s.metric.reason]).sort(), [
          ["execute_flow", "limit_exceeded"],
          ["generate_flow", "input_schema_mismatch"],
          ["manage_kv_store", "require_failed"],
          ["restart_execution", "invalid_arguments"],
        ]);
      });
    }
  }

  it("the injected pods ran the Kestra server on loopback, behind the sidecar that took its port, and it reloaded the changed policy", async () => {
    const running = await kestraPod();
    assert.deepEqual(running.mcpContainer.command, kestraServerCommand(18000));
    assert.equal(running.mcpContainer.ports, undefined, "the server's port 8000 moved to the sidecar");
    assert.deepEqual(
      running.sidecarContainer.ports?.map((p) => [p.name, p.containerPort]),
      [
        ["mcp", 8000],
        ["warden-admin", 9090],
      ],
    );
    await eventually(
      async () => {
        const metrics = await (await fetch(`${running.adminUrl}/metrics`)).text();
        assert.match(
          metrics,
          /^mcp_warden_policy_info\{policy="agents\/kestra",[^}]*mode="Audit"\} 1$/m,
          "the running sidecar took the patched policy without a restart",
        );
      },
      { timeoutMs: 20_000 },
    );
  });
});
