// Lint runs with type information so promise and type-safety mistakes fail the tests.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "charts/", "crds/", "test/cluster/tools/", "**/*.js"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-restricted-imports": ["error", { patterns: [] }],
    },
  },
  {
    // The policy engine is pure: no HTTP, no Kubernetes, nothing from the layers above it.
    files: ["policy/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [
          { group: ["**/sidecar/**", "**/operator/**", "**/cli/**"], message: "policy/ must not depend on the layers above it" },
          { group: ["fastify", "undici", "@kubernetes/*", "ioredis"], message: "policy/ stays free of I/O libraries" },
        ],
      }],
    },
  },
  {
    files: ["sidecar/**/*.ts", "operator/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [{ group: ["**/cli/**"], message: "dependencies point cli → sidecar | operator → policy" }],
      }],
    },
  },
);
