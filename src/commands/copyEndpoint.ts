import * as vscode from "vscode";
import { fetchGatewayKey } from "../client/gatewayKey";
import type { CommandDefinition } from "./CommandContext";
import { endpointSnippet, SNIPPET_KINDS, snippetNeedsKey, type SnippetKind } from "./endpointSnippets";
import { profilesFrom } from "./targets";

function snippetLabel(kind: SnippetKind): { label: string; detail: string } {
  switch (kind) {
    case "url":
      return { label: vscode.l10n.t("URL only"), detail: vscode.l10n.t("The manager's /v1 base URL; the model to send is the profile's name") };
    case "curl":
      return { label: "curl", detail: vscode.l10n.t("A chat completion from the shell") };
    case "python":
      return { label: vscode.l10n.t("Python (openai)"), detail: vscode.l10n.t("The official openai package: pip install openai") };
    case "typescript":
      return { label: vscode.l10n.t("TypeScript (openai)"), detail: vscode.l10n.t("The official openai package: npm install openai") };
    case "continue":
      return { label: vscode.l10n.t("Continue config.yaml"), detail: vscode.l10n.t("A model block for the Continue extension") };
    case "claude-code":
      return { label: vscode.l10n.t("Claude Code (environment)"), detail: vscode.l10n.t("ANTHROPIC_BASE_URL and friends for a shell, then claude") };
    case "anthropic-typescript":
      return { label: vscode.l10n.t("TypeScript (@anthropic-ai/sdk)"), detail: vscode.l10n.t("Anthropic's official package on the Messages API: npm install @anthropic-ai/sdk") };
    case "codex":
      return { label: vscode.l10n.t("Codex (config.toml)"), detail: vscode.l10n.t("A model provider for OpenAI's Codex CLI on the Responses API, as a profile file: codex --profile mlx") };
    case "openai-agents":
      return { label: vscode.l10n.t("TypeScript (@openai/agents)"), detail: vscode.l10n.t("An agent of the OpenAI Agents SDK on the Responses API: npm install @openai/agents openai") };
  }
}

/** `{ profile, snippet }` from scripts and tests, so they need not answer the quick pick. */
function scriptedArgs(arg: unknown): { profile: unknown; snippet: SnippetKind | undefined } | undefined {
  if (typeof arg !== "object" || arg === null || !("snippet" in arg)) return undefined;
  const { profile, snippet } = arg as { profile?: unknown; snippet?: unknown };
  return { profile, snippet: SNIPPET_KINDS.find((k) => k === snippet) };
}

/**
 * Copies a way to call a profile through the manager's /v1: the URL alone, or a curl, Python,
 * TypeScript, Continue, Claude Code, @anthropic-ai/sdk, Codex or @openai/agents snippet with the profile's name as model and the gateway key (which opens
 * /v1 only — never the admin token) as key.
 */
export const copyEndpoint: CommandDefinition = {
  id: "mlx.copyEndpoint",
  async run(ctx, ...args) {
    const scripted = scriptedArgs(args[0]);
    if (scripted && scripted.snippet === undefined) {
      throw new Error(vscode.l10n.t("Unknown snippet: use one of {0}.", SNIPPET_KINDS.join(", ")));
    }
    const [profile] = await profilesFrom(ctx, scripted ? [scripted.profile] : args, { title: vscode.l10n.t("Copy the endpoint of which profile?") });
    if (!profile) return undefined;
    let kind = scripted?.snippet;
    if (kind === undefined) {
      const picked = await vscode.window.showQuickPick(
        SNIPPET_KINDS.map((k) => ({ ...snippetLabel(k), snippet: k })),
        { title: vscode.l10n.t("Copy the endpoint of {0} as…", profile.name) },
      );
      if (!picked) return undefined;
      kind = picked.snippet;
    }
    const client = await ctx.connection.client();
    const baseUrl = `${client.url}/v1`;
    const apiKey = snippetNeedsKey(kind) ? (await fetchGatewayKey(client, AbortSignal.timeout(10_000))).key : "";
    const text = endpointSnippet(kind, { baseUrl, model: profile.name, apiKey });
    await vscode.env.clipboard.writeText(text);
    vscode.window.setStatusBarMessage(
      kind === "url" ? vscode.l10n.t("Copied {0} (model: {1})", baseUrl, profile.name) : vscode.l10n.t("Copied the {0} snippet for {1}", snippetLabel(kind).label, profile.name),
      5000,
    );
    return { endpoint: baseUrl, model: profile.name, snippet: kind, text };
  },
};
