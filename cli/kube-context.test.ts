import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { stringify } from "yaml";
import { kubeContext } from "./kube-context.ts";
import { UsageError } from "./usage-error.ts";

const dir = mkdtempSync(join(tmpdir(), "kube-context-"));
function kubeconfig(file: string, current: string, contexts: Record<string, string | undefined>): string {
  const path = join(dir, file);
  writeFileSync(
    path,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      "current-context": current,
      clusters: [{ name: "c", cluster: { server: `https://${file}.example:6443` } }],
      users: [{ name: "u", user: { token: "t" } }],
      contexts: Object.entries(contexts).map(([name, namespace]) => ({
        name,
        context: { cluster: "c", user: "u", ...(namespace ? { namespace } : {}) },
      })),
    }),
  );
  return path;
}
const main = kubeconfig("main", "dev", { dev: "agents", prod: undefined });
const other = kubeconfig("other", "ops", { ops: "platform" });

describe("kubectl's flags for plugin subcommands", () => {
  it("uses KUBECONFIG's current context and its namespace", () => {
    const context = kubeContext({}, { KUBECONFIG: main });
    assert.equal(context.kubeConfig.getCurrentCluster()?.server, "https://main.example:6443");
    assert.equal(context.namespace, "agents");
  });

  it("falls back to the default namespace when the context names none, and -n wins over both", () => {
    assert.equal(kubeContext({ context: "prod" }, { KUBECONFIG: main }).namespace, "default");
    assert.equal(kubeContext({ namespace: "team-b" }, { KUBECONFIG: main }).namespace, "team-b");
  });

  it("prefers --kubeconfig to KUBECONFIG, and -A means every namespace", () => {
    const context = kubeContext({ kubeconfig: other, "all-namespaces": true }, { KUBECONFIG: main });
    assert.equal(context.kubeConfig.getCurrentContext(), "ops");
    assert.equal(context.namespace, undefined);
  });

  it("refuses an unknown context, a missing kubeconfig, and -n with -A", () => {
    assert.throws(
      () => kubeContext({ context: "staging" }, { KUBECONFIG: main }),
      /context "staging" is not in the kubeconfig \(it has: dev, prod\)/,
    );
    assert.throws(
      () => kubeContext({ kubeconfig: join(dir, "missing") }, {}),
      /the kubeconfig .*missing does not exist/,
    );
    assert.throws(() => kubeContext({ namespace: "a", "all-namespaces": true }, { KUBECONFIG: main }), UsageError);
  });
});

describe("several kubeconfig files in KUBECONFIG", () => {
  it("merge as kubectl merges them: the first file's current context and names win", () => {
    const context = kubeContext({}, { KUBECONFIG: [main, other].join(":") });
    assert.equal(context.kubeConfig.getCurrentContext(), "dev");
    assert.deepEqual(
      context.kubeConfig.getContexts().map((c) => c.name),
      ["dev", "prod", "ops"],
    );
    assert.equal(
      context.kubeConfig.getCurrentCluster()?.server,
      "https://main.example:6443",
      "cluster c comes from the first file",
    );
    assert.equal(kubeContext({ context: "ops" }, { KUBECONFIG: [main, other].join(":") }).namespace, "platform");
  });
});
