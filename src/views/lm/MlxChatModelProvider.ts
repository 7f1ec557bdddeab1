import * as vscode from "vscode";
import { ManagerRequestError, type ManagerClient } from "../../client/ManagerClient";
import type { ChatCompletionEvent, ChatCompletionStreamRequest } from "../../client/chatCompletions";
import type { ManagerState } from "../host/ManagerState";
import {
  chatModelInformation,
  estimateMessageTokens,
  estimateTokens,
  isChatProfile,
  isServing,
  LM_VENDOR,
  modelLabel,
  samplingOptions,
  toOpenAiMessages,
  toOpenAiTools,
} from "./chatConversion";

/** What the provider needs of the extension: the manager's client and the state it follows. */
export interface ChatModelHost {
  client(): Promise<ManagerClient>;
  state: ManagerState;
  log: vscode.LogOutputChannel;
}

/**
 * Offers every chat profile of the manager to VS Code's language-model API (and the chat model
 * picker where there is one). Requests go through the manager's `/v1` gateway, which starts a
 * stopped profile just in time and meters the request; text streams back as it arrives.
 */
export class MlxChatModelProvider implements vscode.LanguageModelChatProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeLanguageModelChatInformation = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly host: ChatModelHost) {
    // Profiles change the list; models (architecture) and servers (running or not) its details.
    this.subscription = host.state.onDidChange((kind) => {
      if (kind === "profiles" || kind === "models" || kind === "servers") this.changed.fire();
    });
  }

  provideLanguageModelChatInformation(): vscode.LanguageModelChatInformation[] {
    const { state } = this.host;
    return state.profiles
      .filter(isChatProfile)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((profile) => {
        const info = chatModelInformation(profile, state.models);
        const detail = isServing(state.serverOf(profile.id)) ? vscode.l10n.t("{0} · running", profile.engine) : vscode.l10n.t("{0} · starts on first use", profile.engine);
        const tooltip = vscode.l10n.t("{0} on {1}, {2} tokens of context. Requests go through the MLX manager's /v1 gateway.", modelLabel(profile), profile.engine, info.maxInputTokens);
        return { ...info, detail, tooltip };
      });
  }

  async provideLanguageModelChatResponse(
    model: vscode.LanguageModelChatInformation,
    messages: readonly vscode.LanguageModelChatRequestMessage[],
    options: vscode.ProvideLanguageModelChatResponseOptions,
    progress: vscode.Progress<vscode.LanguageModelResponsePart>,
    token: vscode.CancellationToken,
  ): Promise<void> {
    const profile = this.host.state.profiles.find((p) => p.id === model.id);
    if (profile === undefined) {
      throw vscode.LanguageModelError.NotFound(vscode.l10n.t("The MLX profile behind \"{0}\" no longer exists. Pick another model, or create the profile again in the Profiles view.", model.name));
    }
    const request: ChatCompletionStreamRequest = {
      model: profile.name,
      messages: toOpenAiMessages(messages, { tools: true, images: profile.options.modelType === "multimodal" }),
      ...toOpenAiTools(options.tools, options.toolMode),
      ...samplingOptions(options.modelOptions),
    };
    const controller = new AbortController();
    const cancel = token.onCancellationRequested(() => { controller.abort(); });
    const started = performance.now();
    let parts = 0;
    try {
      const client = await this.host.client();
      for await (const event of client.chatCompletionStream(request, controller.signal)) {
        const part = responsePart(event, profile.name);
        if (part !== undefined) {
          progress.report(part);
          parts++;
        }
      }
      this.host.log.info(`lm: ${profile.name} answered in ${Math.round(performance.now() - started)} ms (${parts} parts)`);
    } catch (error) {
      // Cancelled: the HTTP request is closed and the gateway aborts upstream; nothing to report.
      if (token.isCancellationRequested) {
        this.host.log.info(`lm: ${profile.name} cancelled after ${parts} parts`);
        return;
      }
      throw languageModelError(error, profile.name);
    } finally {
      cancel.dispose();
    }
  }

  provideTokenCount(_model: vscode.LanguageModelChatInformation, text: string | vscode.LanguageModelChatRequestMessage): Promise<number> {
    return Promise.resolve(typeof text === "string" ? estimateTokens(text) : estimateMessageTokens(text));
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}

/** A stream event as the part VS Code shows (undefined for bookkeeping events). */
function responsePart(event: ChatCompletionEvent, profileName: string): vscode.LanguageModelResponsePart | undefined {
  switch (event.type) {
    case "text":
      return new vscode.LanguageModelTextPart(event.text);
    case "toolCall": {
      let input: unknown;
      try {
        input = event.arguments.trim() === "" ? {} : JSON.parse(event.arguments);
      } catch {
        throw new Error(vscode.l10n.t("\"{0}\" called the tool {1} with arguments that are not JSON ({2}). Try again, or use a model better at tool calls.", profileName, event.name, event.arguments.slice(0, 200)));
      }
      if (typeof input !== "object" || input === null || Array.isArray(input)) {
        throw new Error(vscode.l10n.t("\"{0}\" called the tool {1} with {2} instead of a JSON object. Try again, or use a model better at tool calls.", profileName, event.name, JSON.stringify(input)));
      }
      return new vscode.LanguageModelToolCallPart(event.id, event.name, input);
    }
    default:
      return undefined;
  }
}

/** What went wrong, said for the person in the chat: what happened and what to do. */
export function languageModelError(error: unknown, profileName: string): Error {
  if (error instanceof vscode.LanguageModelError) return error;
  if (!(error instanceof ManagerRequestError)) {
    return new Error(vscode.l10n.t("The request to \"{0}\" failed: {1}. See the \"MLX Model Manager\" output for details.", profileName, error instanceof Error ? error.message : String(error)));
  }
  if (error.code === "unreachable") return new Error(vscode.l10n.t("The MLX manager is not reachable ({0}). Run \"MLX: Restart Manager\", then try again.", error.message));
  if (error.status === 404) return vscode.LanguageModelError.NotFound(vscode.l10n.t("{0} Pick another model, or create the profile again.", error.message));
  if (error.status === 401 || error.status === 403) return vscode.LanguageModelError.NoPermissions(vscode.l10n.t("The manager refused the request ({0}). Run \"MLX: Restart Manager\" to reconnect with a fresh token.", error.message));
  if (error.status === 429) return new Error(vscode.l10n.t("\"{0}\" is rate limited: {1} Wait a moment and try again.", profileName, error.message));
  if (error.status === 400) return new Error(vscode.l10n.t("\"{0}\" refused the request: {1} Check the request options (modelOptions) and try again.", profileName, error.message));
  return new Error(vscode.l10n.t("\"{0}\" could not answer: {1} Check its log (\"MLX: Show Logs\") and try again.", profileName, error.message));
}

/** Registers the provider under the vendor the manifest contributes. */
export function registerChatModels(host: ChatModelHost): vscode.Disposable {
  const provider = new MlxChatModelProvider(host);
  return vscode.Disposable.from(provider, vscode.lm.registerLanguageModelChatProvider(LM_VENDOR, provider));
}
