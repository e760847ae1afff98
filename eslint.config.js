// Lint runs with type information so promise and type-safety mistakes fail the tests.
import js from "@eslint/js";
import { posix } from "node:path";
import tseslint from "typescript-eslint";
import { SIDECAR_LAYERS } from "./test/architecture/sidecar-layers.ts";

const SIDECAR_ABOVE = { group: ["**/cli/**", "**/operator/**"], message: "sidecar/ must not import cli/ or operator/" };

/**
 * One block per place in the sidecar's layers (test/architecture/sidecar-layers.ts, ADR 0900): its
 * files may not import a file of a higher layer. Tests may (a test of the wire may build a decision).
 */
function sidecarLayerRules() {
  const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return SIDECAR_LAYERS.flatMap((layer, index) => layer.paths.map((path) => {
    const dir = path.endsWith("/") ? path.slice(0, -1) : posix.dirname(path);
    const higher = SIDECAR_LAYERS.slice(index + 1).flatMap((above) => above.paths.map((target) => {
      const relative = posix.relative(dir, target.endsWith("/") ? target.slice(0, -1) : target);
      const specifier = relative.startsWith("..") ? relative : `./${relative}`;
      return { regex: target.endsWith("/") ? `^${escape(specifier)}/` : `^${escape(specifier)}$`, message: `the sidecar's ${layer.name} layer must not import ${target} (layer ${above.name}): see ADR 0900` };
    }));
    return {
      files: [path.endsWith("/") ? `${path}*.ts` : path],
      ignores: ["**/*.test.ts"],
      rules: { "no-restricted-imports": ["error", { patterns: [SIDECAR_ABOVE, ...higher] }] },
    };
  }));
}

export default tseslint.config(
  { ignores: ["node_modules/", "charts/", "crds/", "test/cluster/tools/", "**/*.js", "**/*.py"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": ["error", {
        allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["test", "describe", "it", "suite", "before", "after", "beforeEach", "afterEach"] }],
      }],
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // Branchy functions are where sections want names: a function over 20 paths (cyclomatic) or
    // nested over 5 blocks is a warning, and lint allows no warnings.
    rules: { complexity: ["warn", 20], "max-depth": ["warn", 5] },
  },
  {
    // Functions over that bound today, each to be split into named steps; a file leaves this list
    // when its functions fit, and none may join it.
    files: [
      "operator/controller/policy-reconciler.ts", "operator/crd/structural-schema.ts", "policy/cel/check.ts",
      "policy/conditions.ts", "sidecar/identity/authenticator.ts", "sidecar/observability/request-spans.ts",
      "sidecar/pins/drift-monitor.ts", "sidecar/proxy/post-plan.ts", "test/chart/pod-discovery.ts",
      "test/cluster/e2e/injection.test.ts", "test/cluster/harness.ts", "test/cluster/pod-container.ts",
      "test/image/dockerfile.ts", "test/support/fuzz/spy-upstream.ts", "test/tracing/traces.test.ts",
    ],
    rules: { complexity: ["warn", 48] },
  },
  {
    // The policy engine is pure: no HTTP, no Kubernetes, no Redis, no files, nothing from the layers
    // above it (the Redis store lives in sidecar/ratelimit/). Its tests and test helpers may read fixtures.
    files: ["policy/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [
          { group: ["**/sidecar/**", "**/operator/**", "**/cli/**", "**/kube/**"], message: "policy/ must not depend on the layers above it" },
          { group: ["fastify", "undici", "@kubernetes/*", "ioredis", "pino"], message: "policy/ stays free of I/O libraries" },
        ],
      }],
    },
  },
  {
    files: ["policy/**/*.ts"],
    ignores: ["policy/**/*.test.ts", "policy/**/testing.ts", "policy/**/*.testing.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [
          { group: ["**/sidecar/**", "**/operator/**", "**/cli/**", "**/kube/**"], message: "policy/ must not depend on the layers above it" },
          { group: ["fastify", "undici", "@kubernetes/*", "ioredis", "pino"], message: "policy/ stays free of I/O libraries" },
          { group: ["node:fs", "node:fs/*", "node:net", "node:http", "node:https", "node:http2", "node:tls", "node:dgram", "node:child_process", "node:worker_threads"], message: "policy/ reads no files and opens no connections: its callers pass it what it decides on" },
        ],
      }],
    },
  },
  {
    // Kubernetes helpers shared by the operator and the sidecar's policy source.
    files: ["kube/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [{ group: ["**/sidecar/**", "**/operator/**", "**/cli/**"], message: "kube/ sits below sidecar/ and operator/" }],
      }],
    },
  },
  {
    // Traces for the sidecar and the operator alike: below both, and the SDK loaded only on demand.
    files: ["telemetry/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [{ group: ["**/sidecar/**", "**/operator/**", "**/cli/**", "**/kube/**", "**/policy/**"], message: "telemetry/ sits below sidecar/ and operator/" }],
      }],
    },
  },
  {
    // What both programs share (option table, listen addresses, version, log format, the sidecar's
    // environment contract): below sidecar/ and operator/, and free of everything above it.
    files: ["program/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [{ group: ["**/sidecar/**", "**/operator/**", "**/cli/**", "**/kube/**", "**/policy/**"], message: "program/ sits below sidecar/ and operator/" }],
      }],
    },
  },
  {
    // Dependencies point one way: cli → sidecar | operator → kube, policy.
    files: ["sidecar/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [SIDECAR_ABOVE] }],
    },
  },
  // Inside the sidecar, dependencies point down its layers (these blocks repeat SIDECAR_ABOVE: a later
  // block's options replace an earlier one's).
  ...sidecarLayerRules(),
  {
    // The dashboard is data about the metrics, not code that uses the components.
    files: ["monitoring/**/*.ts"],
    ignores: ["monitoring/**/*.test.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [{ group: ["**/sidecar/**", "**/operator/**", "**/cli/**", "**/kube/**", "**/policy/**"], message: "monitoring/ stands alone" }],
      }],
    },
  },
  {
    files: ["operator/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [{ group: ["**/cli/**", "**/sidecar/**"], message: "operator/ must not import cli/ or sidecar/" }],
      }],
    },
  },
);
