// The file policy source against a real filesystem, including the way the kubelet updates a mounted
// ConfigMap: a new timestamped directory, then an atomic rename of the `..data` symlink.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { LoadedPolicy } from "../../policy/load.ts";
import type { PolicyError } from "../../policy/paths.ts";
import { FilePolicySource } from "./file.ts";
import { createPolicySource } from "./index.ts";

/** Writes a file whole (temp file + rename), so a reader never sees half of it. */
function writeWhole(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

const policy = (generation: number) =>
  `apiVersion: mcpwarden.io/v1alpha1\nkind: McpPolicy\nmetadata: {name: p, generation: ${generation}}\nspec: {default: deny}\n`;

function recorder() {
  const events: string[] = [];
  let wake: (() => void) | undefined;
  const push = (e: string) => {
    events.push(e);
    wake?.();
  };
  return {
    events,
    handlers: {
      policy: (l: LoadedPolicy) => push(`policy ${l.generation ?? l.name}`),
      invalid: (e: PolicyError) => push(`invalid ${e.problems.length}`),
      trouble: (e: Error) => push(`trouble ${e.message.includes("ENOENT") ? "ENOENT" : e.message}`),
    },
    async next(count: number): Promise<void> {
      const deadline = Date.now() + 10_000;
      while (events.length < count) {
        if (Date.now() > deadline) throw new Error(`waited for ${count} events, have ${JSON.stringify(events)}`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 50);
        });
      }
    },
  };
}

describe("FilePolicySource", () => {
  it("delivers the policy, then each changed version; an invalid version is reported as invalid", async () => {
    const dir = mkdtempSync(join(tmpdir(), "policy-src-"));
    const file = join(dir, "policy.yaml");
    writeFileSync(file, policy(1));
    const r = recorder();
    const source = new FilePolicySource(file, { debounceMs: 10, pollIntervalMs: 0 });
    await source.start(r.handlers);
    assert.deepEqual(r.events, ["policy 1"]);
    writeWhole(file, policy(2));
    await r.next(2);
    writeWhole(file, "kind: nonsense\n");
    await r.next(3);
    writeWhole(file, policy(3));
    await r.next(4);
    assert.deepEqual(r.events, ["policy 1", "policy 2", "invalid 4", "policy 3"]);
    await source.stop();
  });

  it("follows a ConfigMap-style symlink swap", async () => {
    const mount = mkdtempSync(join(tmpdir(), "configmap-"));
    const version = (n: number) => {
      const d = join(mount, `..2026_05_04_00_00_0${n}.000${n}`);
      mkdirSync(d);
      writeFileSync(join(d, "policy.yaml"), policy(n));
      return d;
    };
    symlinkSync(version(1), join(mount, "..data"));
    symlinkSync(join("..data", "policy.yaml"), join(mount, "policy.yaml"));
    const r = recorder();
    const source = new FilePolicySource(join(mount, "policy.yaml"), { debounceMs: 10, pollIntervalMs: 0 });
    await source.start(r.handlers);
    // What the kubelet's atomic writer does: new directory, new link, rename over ..data.
    symlinkSync(version(2), join(mount, "..data_tmp"));
    renameSync(join(mount, "..data_tmp"), join(mount, "..data"));
    await r.next(2);
    assert.deepEqual(r.events, ["policy 1", "policy 2"]);
    await source.stop();
  });

  it("reports an unreadable file as trouble once, and picks the file up when it appears (polling)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "policy-late-"));
    const file = join(dir, "policy.yaml");
    const r = recorder();
    const source = new FilePolicySource(file, { debounceMs: 10, pollIntervalMs: 30 });
    await source.start(r.handlers);
    assert.deepEqual(r.events, ["trouble ENOENT"]);
    writeWhole(file, policy(7));
    await r.next(2);
    assert.deepEqual(r.events, ["trouble ENOENT", "policy 7"]);
    await source.stop();
  });

  it("names a PolicyLayer document after its file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "policy-pl-"));
    const file = join(dir, "kestra.json");
    writeFileSync(file, '{"version":"1","default":"deny","tools":{"resume_execution":{}}}');
    const names: string[] = [];
    const source = createPolicySource(file);
    await source.start({
      policy: (l) => names.push(`${l.format} ${l.name}`),
      invalid: () => undefined,
      trouble: () => undefined,
    });
    assert.deepEqual(names, ["PolicyLayer kestra"]);
    assert.equal(source.description, `file ${file}`);
    await source.stop();
  });
});

describe("createPolicySource", () => {
  it("reads k8s://<namespace>/<name> from the Kubernetes API and checks the reference first", () => {
    assert.equal(createPolicySource("k8s://agents/kestra.v2").description, "McpPolicy agents/kestra.v2");
    assert.throws(() => createPolicySource("k8s://agents"), /expected k8s:\/\/<namespace>\/<name>/);
    assert.throws(() => createPolicySource("k8s://Agents/x"), /is not an McpPolicy reference/);
    assert.throws(() => createPolicySource(""), /--policy is empty/);
  });
});
