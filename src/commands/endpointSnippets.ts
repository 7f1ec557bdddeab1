// Ready-to-paste ways to call a profile through the manager's /v1. Pure (no vscode import) so the
// unit tests run each snippet through its real parser: sh, python3's ast, TypeScript, YAML, TOML.
import { CODEX_PROFILE, CODEX_PROVIDER_ID, codexProvider } from "./codexConfig";

export type SnippetKind = "url" | "curl" | "python" | "typescript" | "continue" | "claude-code" | "anthropic-typescript" | "codex" | "openai-agents";

export const SNIPPET_KINDS: readonly SnippetKind[] = ["url", "curl", "python", "typescript", "continue", "claude-code", "anthropic-typescript", "codex", "openai-agents"];

export interface SnippetInput {
  /** The manager's /v1 base URL, e.g. http://127.0.0.1:8471/v1. */
  baseUrl: string;
  /** The profile's name: what goes in `model`. */
  model: string;
  /** The gateway key (opens /v1 only); never the admin token. */
  apiKey: string;
}

/** Whether the snippet carries the key (the URL alone does not, so it needs no key fetched). */
export function snippetNeedsKey(kind: SnippetKind): boolean {
  return kind !== "url";
}

/** A string literal for Python, TypeScript and YAML's double-quoted scalars: JSON's escapes are valid in all three. */
function quoted(value: string): string {
  return JSON.stringify(value);
}

/** One POSIX shell word: single quotes, with each ' as '\'' . */
function shellWord(value: string): string {
  return `'${value.replace(/'/g, "'\\''")}'`;
}

export function endpointSnippet(kind: SnippetKind, input: SnippetInput): string {
  const { baseUrl, model, apiKey } = input;
  // Anthropic's clients add /v1/messages to the manager's own URL.
  const managerUrl = baseUrl.replace(/\/v1\/?$/, "");
  switch (kind) {
    case "claude-code":
      return [
        "# Claude Code on this profile, through the manager's Anthropic Messages API",
        `export ANTHROPIC_BASE_URL=${shellWord(managerUrl)}`,
        `export ANTHROPIC_AUTH_TOKEN=${shellWord(apiKey)}`,
        `export ANTHROPIC_MODEL=${shellWord(model)}`,
        `export ANTHROPIC_DEFAULT_HAIKU_MODEL=${shellWord(model)}`,
        `export ANTHROPIC_SMALL_FAST_MODEL=${shellWord(model)}`,
        "claude",
        "",
      ].join("\n");
    case "anthropic-typescript":
      return [
        `import Anthropic from "@anthropic-ai/sdk";`,
        "",
        `const client = new Anthropic({ baseURL: ${quoted(managerUrl)}, apiKey: ${quoted(apiKey)} });`,
        "const message = await client.messages.create({",
        `  model: ${quoted(model)},`,
        "  max_tokens: 512,",
        `  messages: [{ role: "user", content: "Hello" }],`,
        "});",
        `console.log(message.content.map((block) => (block.type === "text" ? block.text : "")).join(""));`,
        "",
      ].join("\n");
    case "codex":
      return [
        `# Codex on this profile, through the manager's Responses API: save as ~/.codex/${CODEX_PROFILE}.config.toml`,
        `# and run \`codex --profile ${CODEX_PROFILE}\` (or put these lines in ~/.codex/config.toml to make it the default).`,
        `model = ${quoted(model)}`,
        `model_provider = ${quoted(CODEX_PROVIDER_ID)}`,
        "",
        `[model_providers.${CODEX_PROVIDER_ID}]`,
        ...Object.entries(codexProvider({ baseUrl, gatewayKey: apiKey, model })).map(([key, value]) => `${key} = ${quoted(value)}`),
        "",
      ].join("\n");
    case "openai-agents":
      return [
        `import { Agent, run, setDefaultOpenAIClient, setOpenAIAPI, setTracingDisabled } from "@openai/agents";`,
        `import OpenAI from "openai";`,
        "",
        `setDefaultOpenAIClient(new OpenAI({ baseURL: ${quoted(baseUrl)}, apiKey: ${quoted(apiKey)} }));`,
        `setOpenAIAPI("responses");`,
        "// Traces would go to OpenAI's servers: off for a local model.",
        "setTracingDisabled(true);",
        "",
        `const agent = new Agent({ name: "assistant", instructions: "Be helpful.", model: ${quoted(model)} });`,
        `const result = await run(agent, "Hello");`,
        "console.log(result.finalOutput);",
        "",
      ].join("\n");
    case "url":
      return baseUrl;
    case "curl": {
      const body = JSON.stringify({ model, messages: [{ role: "user", content: "Hello" }] });
      return [
        `curl ${shellWord(`${baseUrl}/chat/completions`)} \\`,
        `  -H ${shellWord(`Authorization: Bearer ${apiKey}`)} \\`,
        `  -H 'Content-Type: application/json' \\`,
        `  -d ${shellWord(body)}`,
        "",
      ].join("\n");
    }
    case "python":
      return [
        "from openai import OpenAI",
        "",
        `client = OpenAI(base_url=${quoted(baseUrl)}, api_key=${quoted(apiKey)})`,
        "reply = client.chat.completions.create(",
        `    model=${quoted(model)},`,
        `    messages=[{"role": "user", "content": "Hello"}],`,
        ")",
        "print(reply.choices[0].message.content)",
        "",
      ].join("\n");
    case "typescript":
      return [
        `import OpenAI from "openai";`,
        "",
        `const client = new OpenAI({ baseURL: ${quoted(baseUrl)}, apiKey: ${quoted(apiKey)} });`,
        "const reply = await client.chat.completions.create({",
        `  model: ${quoted(model)},`,
        `  messages: [{ role: "user", content: "Hello" }],`,
        "});",
        "console.log(reply.choices[0]?.message.content);",
        "",
      ].join("\n");
    case "continue":
      return [
        "# Continue: add to the models of ~/.continue/config.yaml (or the workspace's .continue/config.yaml)",
        "models:",
        `  - name: ${quoted(`${model} (MLX)`)}`,
        "    provider: openai",
        `    model: ${quoted(model)}`,
        `    apiBase: ${quoted(baseUrl)}`,
        `    apiKey: ${quoted(apiKey)}`,
        "    roles:",
        "      - chat",
        "      - edit",
        "      - apply",
        "",
      ].join("\n");
  }
}
