// The node-backed cluster itself, and the project's image on it: pods run on a real kubelet with
// containerd, runc and the CNI bridge; Services route through kube-proxy; pods reach the API server;
// the image built from the Dockerfile (buildah) runs as a user would check it: its size, user 65532,
// no shell, a read-only root filesystem. After stop(), nothing of the node is left on the host.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { CoreV1Api } from "@kubernetes/client-node";
import { startNodeCluster, type NodeCluster } from "./harness.ts";
import { currentSysctls } from "./host-state.ts";
import { agentImageArchive, AGENT_IMAGE, projectImage, projectImageArchive } from "./images/images.ts";
import { agentFetch, agentPod, podTerminated, waitForPod, waitForPodReady } from "./pods.ts";
import { eventually } from "../support/eventually.ts";

const NS = "node-check";

/** Uncompressed size of an OCI archive's layers (what the image takes unpacked). */
function unpackedSize(archive: string): { layers: number; compressed: number } {
  const index = JSON.parse(execFileSync("tar", ["-xOf", archive, "./index.json"], { encoding: "utf8" })) as {
    manifests: { digest: string }[];
  };
  const blob = (digest: string) => `./blobs/sha256/${digest.replace("sha256:", "")}`;
  const manifest = JSON.parse(
    execFileSync("tar", ["-xOf", archive, blob(index.manifests[0]!.digest)], { encoding: "utf8" }),
  ) as { layers: { digest: string; size: number; mediaType: string }[] };
  let layers = 0;
  for (const layer of manifest.layers) {
    const bytes = execFileSync(
      "sh",
      [
        "-c",
        `tar -xOf "$1" "$2" | ${layer.mediaType.endsWith("gzip") ? "gzip -dc |" : ""} wc -c`,
        "sh",
        archive,
        blob(layer.digest),
      ],
      { encoding: "utf8" },
    );
    layers += Number(bytes.trim());
  }
  return { layers, compressed: manifest.layers.reduce((sum, layer) => sum + layer.size, 0) };
}

describe("a node-backed cluster", { timeout: 600_000 }, () => {
  let cluster: NodeCluster;
  let core: CoreV1Api;
  const sysctlsBefore = currentSysctls();
  let leftover: { netns: string; hostVeth: string; cgroup: string; dir: string } | undefined;

  before(async () => {
    cluster = await startNodeCluster({
      name: "node",
      images: [await projectImageArchive(), await agentImageArchive()],
    });
    core = cluster.client(CoreV1Api);
    await cluster.createNamespace(NS, { labels: { "pod-security.kubernetes.io/enforce": "restricted" } });
    const { network } = cluster.node;
    leftover = {
      netns: network.netnsFile,
      hostVeth: network.hostVeth,
      cgroup: `/sys/fs/cgroup/memory/mcpw-${network.slot}`,
      dir: cluster.dir,
    };
  });
  after(async () => {
    await cluster?.stop();
  });

  it("runs pods: an agent pod becomes Ready behind its readiness probe, reachable by pod IP and through a Service", async (t) => {
    const started = performance.now();
    await core.createNamespacedPod({ namespace: NS, body: agentPod("agent", AGENT_IMAGE) });
    const pod = await waitForPodReady(core, NS, "agent");
    t.diagnostic(`agent pod create → Ready: ${(performance.now() - started).toFixed(0)} ms`);
    const ip = pod.status!.podIP!;
    assert.match(ip, new RegExp(`^${cluster.node.network.podCidr.split(".").slice(0, 3).join("\\.")}\\.`));
    assert.equal(await (await fetch(`http://${ip}:8080/healthz`)).text(), "ok");

    await core.createNamespacedService({
      namespace: NS,
      body: {
        metadata: { name: "agent" },
        spec: { selector: { app: "agent" }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    });
    const service = await core.readNamespacedService({ namespace: NS, name: "agent" });
    const serviceStarted = performance.now();
    // From a pod (kube-proxy's rules, hairpin on the bridge) and from the node's namespace.
    await eventually(
      async () => assert.equal((await agentFetch(ip, { url: `http://${service.spec!.clusterIP}/healthz` })).body, "ok"),
      { timeoutMs: 30_000 },
    );
    t.diagnostic(`new Service reachable from a pod after ${(performance.now() - serviceStarted).toFixed(0)} ms`);
    // The API server through the kubernetes Service, as in-cluster clients reach it.
    const kubernetes = await agentFetch(ip, {
      url: `https://${cluster.node.network.kubernetesServiceIp}/version`,
      timeoutMs: 5_000,
    });
    // The pod does not trust the cluster CA here: the TLS handshake with the API server is the proof.
    assert.ok(
      kubernetes.status === 401 || kubernetes.status === 403 || /CERT|VERIFY|certificate/.test(kubernetes.error ?? ""),
      JSON.stringify(kubernetes),
    );
  });

  it("keeps pod traffic on the machine: nothing is forwarded out of the node's namespace", async () => {
    const pod = await core.readNamespacedPod({ namespace: NS, name: "agent" });
    // 192.0.2.1 is the host's gateway: a pod must not reach it (root's ip_forward is 0, the drop table holds).
    const outside = await agentFetch(pod.status!.podIP!, { url: "http://192.0.2.1/", timeoutMs: 1_500 });
    assert.ok(outside.error, `a pod reached an address outside the machine: ${JSON.stringify(outside)}`);
    assert.equal(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim(), "0");
    const table = execFileSync("nft", ["list", "table", "inet", cluster.node.network.nftTable], { encoding: "utf8" });
    assert.match(table, new RegExp(`iifname "${cluster.node.network.hostVeth}" drop`));
  });

  it("the project's image: built from the Dockerfile, its size, user 65532, no shell, a read-only root filesystem", async (t) => {
    const archive = await projectImageArchive();
    const size = unpackedSize(archive);
    t.diagnostic(
      `${projectImage()}: ${(size.layers / 1e6).toFixed(1)} MB unpacked, ${(size.compressed / 1e6).toFixed(1)} MB compressed`,
    );
    assert.ok(size.layers < 300e6, `the image unpacks to ${size.layers} bytes`);
    const images = await cluster.node.ctr(["images", "ls", "-q"]);
    assert.ok(images.split("\n").includes(projectImage()), images);

    const container = {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    };
    const pod = (name: string, command: string[] | undefined, args: string[]) => ({
      metadata: { name },
      spec: {
        restartPolicy: "Never",
        // No runAsUser: the image's USER must be numeric and non-root for runAsNonRoot to admit it.
        securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
        containers: [
          {
            name: "main",
            image: projectImage(),
            imagePullPolicy: "Never",
            ...(command ? { command } : {}),
            args,
            securityContext: container,
          },
        ],
      },
    });
    // The entrypoint runs (as the chart and the injector start it) with nothing writable.
    await core.createNamespacedPod({
      namespace: NS,
      body: pod("entrypoint", undefined, ["policy", "init", "--server", "kestra"]),
    });
    // Which user, and whether the root filesystem is writable, seen from inside.
    const probe =
      "const fs=require('fs');let w;try{fs.writeFileSync('/app/x','y');w='writable'}catch(e){w=e.code}console.log(JSON.stringify({uid:process.getuid(),gid:process.getgid(),rootfs:w,sh:fs.existsSync('/bin/sh')}))";
    await core.createNamespacedPod({ namespace: NS, body: pod("whoami", ["/nodejs/bin/node"], ["-e", probe]) });
    await core.createNamespacedPod({ namespace: NS, body: pod("shell", ["/bin/sh"], ["-c", "true"]) });

    const entrypoint = await waitForPod(core, NS, "entrypoint", podTerminated, "terminated");
    assert.equal(entrypoint.status?.phase, "Succeeded", JSON.stringify(entrypoint.status?.containerStatuses));
    assert.match((await cluster.kubectl(["logs", "-n", NS, "entrypoint"])).stdout, /kind: McpPolicy/);

    await waitForPod(core, NS, "whoami", podTerminated, "terminated");
    const seen = JSON.parse((await cluster.kubectl(["logs", "-n", NS, "whoami"])).stdout.trim()) as {
      uid: number;
      gid: number;
      rootfs: string;
      sh: boolean;
    };
    assert.deepEqual(seen, { uid: 65532, gid: 65532, rootfs: "EROFS", sh: false });

    const shell = await waitForPod(
      core,
      NS,
      "shell",
      (p) => podTerminated(p) || Boolean(p.status?.containerStatuses?.[0]?.state?.waiting?.message),
      "failed",
    );
    const state = shell.status?.containerStatuses?.[0]?.state;
    assert.match(JSON.stringify(state), /no such file or directory|not found/, JSON.stringify(state));
  });

  it("stops without leaving anything on the host", async () => {
    await cluster.stop();
    assert.ok(leftover);
    assert.equal(existsSync(leftover.dir), false, "the cluster's dir");
    assert.equal(existsSync(leftover.cgroup), false, "the node's cgroups");
    const links = execFileSync("ip", ["-br", "link"], { encoding: "utf8" });
    assert.doesNotMatch(links, new RegExp(`^${leftover.hostVeth}\\b`, "m"));
    assert.doesNotMatch(
      execFileSync("nft", ["list", "tables"], { encoding: "utf8" }),
      new RegExp(cluster.node.network.nftTable),
    );
    assert.doesNotMatch(readFileSync("/proc/self/mountinfo", "utf8"), new RegExp(leftover.dir));
    // The kubelet's sysctls are back, unless another node cluster still runs (then it restores them).
    if (
      !existsSync("/run/mcp-warden-node/users") ||
      execFileSync("ls", ["/run/mcp-warden-node/users"], { encoding: "utf8" }).trim() === ""
    ) {
      assert.deepEqual(currentSysctls(), sysctlsBefore);
    }
  });
});
