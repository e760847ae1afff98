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
    // The policy engine is pure: no HTTP, no Kubernetes, nothing from the layers above it.
    files: ["policy/**/*.ts"],
    ignores: ["policy/ratelimit/redis-store.ts", "policy/ratelimit/redis-*.ts"],
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
