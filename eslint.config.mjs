// Lint enforces the layers of docs/ARCHITECTURE: services and shared never import vscode;
// of our own code the webview imports only src/shared.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const noVscode = {
  name: "vscode",
  message: "Only the extension host (src/extension.ts, src/views, src/commands) may import vscode.",
};

export default tseslint.config(
  {
    ignores: ["dist/**", "out/**", "node_modules/**", ".vscode-test/**", ".test-work/**", ".test-cache/**", ".demo/**", ".engines/**", "artifacts/**", "test-artifacts/**", "bench-results/**", "**/*.mjs", "**/*.cjs"],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "no-console": "error",
      // Fastify route handlers are async by contract even when they compute synchronously.
      "@typescript-eslint/require-await": "off",
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true, allowBoolean: true }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-extraneous-class": "off",
    },
  },
  {
    files: ["src/services/**/*.ts", "src/client/**/*.ts", "src/cli/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { paths: [noVscode], patterns: [{ group: ["**/views/**", "**/commands/**", "**/extension"], message: "Host code is not reachable from here." }] }],
    },
  },
  {
    files: ["src/shared/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [noVscode],
          patterns: [
            { group: ["node:*", "fs", "path", "http", "child_process"], message: "src/shared holds types and schemas only." },
            { group: ["**/services/**", "**/client/**", "**/views/**", "**/commands/**", "**/cli/**", "**/webview-ui/**"], message: "src/shared imports nothing of ours." },
          ],
        },
      ],
    },
  },
  {
    files: ["src/client/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { paths: [noVscode], patterns: [{ group: ["**/services/**", "**/views/**", "**/commands/**", "**/cli/**"], message: "src/client speaks to the manager over HTTP only; it may import src/shared." }] }],
    },
  },
  {
    files: ["webview-ui/**/*.ts"],
    languageOptions: { parserOptions: { projectService: false, project: "./webview-ui/tsconfig.json" } },
    rules: {
      "no-restricted-imports": [
        "error",
        { paths: [noVscode], patterns: [{ group: ["**/src/services/**", "**/src/client/**", "**/src/views/**", "**/src/commands/**", "**/src/cli/**", "**/src/extension*"], message: "The webview imports only src/shared of our code." }] },
      ],
    },
  },
  {
    files: ["src/views/**/*.ts", "src/commands/**/*.ts", "src/extension.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ["**/services/**", "**/webview-ui/**", "**/cli/**"], message: "The host reaches the manager only through src/client." }] }],
    },
  },
  {
    files: ["test/**/*.ts", "bench/**/*.ts", "scripts/**/*.ts"],
    rules: { "no-console": "off", "@typescript-eslint/no-non-null-assertion": "off" },
  },
);
