// How the harness finds the control-plane binaries, and that it fails clearly (never skips) without them.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { controlPlaneBinDir, findControlPlaneBinaries, readControlPlaneVersions } from "./binaries.ts";

void test("reads the versions that build-binaries.sh builds", () => {
  const versions = readControlPlaneVersions(
    "# comment\nKUBE_VERSION=1.35.4\nETCD_VERSION=3.6.5\n  HELM_VERSION=3.22.0  \n",
  );
  assert.deepEqual(versions, { kubernetes: "1.35.4", etcd: "3.6.5", helm: "3.22.0" });
  assert.throws(
    () => readControlPlaneVersions("KUBE_VERSION=1.35.4\nETCD_VERSION=3.6.5\n"),
    /does not set HELM_VERSION/,
  );
});

void test("looks in the cache folder named after the versions, under MCP_WARDEN_CACHE when set", () => {
  const versions = { kubernetes: "1.35.4", etcd: "3.6.5", helm: "3.22.0" };
  assert.equal(
    controlPlaneBinDir(versions, { MCP_WARDEN_CACHE: "/cache" }),
    "/cache/bin/k8s-v1.35.4-etcd-v3.6.5-helm-v3.22.0",
  );
  assert.match(
    controlPlaneBinDir(versions, {}),
    /\/\.cache\/mcp-warden\/bin\/k8s-v1\.35\.4-etcd-v3\.6\.5-helm-v3\.22\.0$/,
  );
});

void test("fails with the build command when the binaries are missing", () => {
  const emptyCache = mkdtempSync(join(tmpdir(), "mcp-warden-empty-cache-"));
  try {
    assert.throws(
      () => findControlPlaneBinaries({ MCP_WARDEN_CACHE: emptyCache }),
      (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.match(error.message, /control plane's binaries are missing: .*\/kube-apiserver/);
        assert.match(error.message, /bash .*test\/cluster\/build-binaries\.sh/);
        return true;
      },
    );
  } finally {
    rmSync(emptyCache, { recursive: true, force: true });
  }
});

void test("finds every binary in this machine's cache (scripts/prerequisites.sh builds them)", () => {
  const binaries = findControlPlaneBinaries();
  assert.equal(binaries.dir, controlPlaneBinDir(readControlPlaneVersions()));
  for (const file of [
    binaries.etcd,
    binaries.kubeApiServer,
    binaries.kubeControllerManager,
    binaries.kubectl,
    binaries.helm,
  ]) {
    assert.ok(file.startsWith(`${binaries.dir}/`), file);
  }
});
