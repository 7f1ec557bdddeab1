import { stat } from "node:fs/promises";
import type { FinishReason } from "./openaiProtocol";
import type {
  Llama,
  LlamaChatHistoryItem,
  LlamaChatWrapper,
  LlamaContext,
  LlamaContextSequence,
  LlamaGenerateOptions,
  LlamaGenerationResult,
  LlamaLogLevel,
  LlamaModel,
  NodeLlamaCpp,
} from "./nodeLlamaCpp";

/** Sampling settings of one request, already defaulted. */
export interface Sampling {
  maxTokens: number;
  temperature: number;
  topP: number;
  topK?: number;
  minP?: number;
  seed?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  /** Generation stops before any of these, which are left out of the text. */
  stop: readonly string[];
}

export type GenerationInput =
  { kind: "chat"; history: LlamaChatHistoryItem[] } | { kind: "completion"; prompt: string };

export interface GenerationResult {
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  completionTokens: number;
  /** ms from the call to the first text chunk (undefined when nothing was generated). */
  firstTokenMs?: number;
  /** Decode speed: (completion tokens − 1) / (last chunk − first chunk). */
  tokensPerSecond?: number;
}

/** What the HTTP server needs from a loaded model. */
export interface TextGenerator {
  readonly contextSize: number;
  /** Generates from a fresh state, calling `onText` with each piece as it is decoded. */
  generate(
    input: GenerationInput,
    sampling: Sampling,
    onText: (text: string) => void,
    signal: AbortSignal,
  ): Promise<GenerationResult>;
  dispose(): Promise<void>;
}

export interface LlamaLoadOptions {
  modelPath: string;
  threads: number;
  /** Exact context size; when absent, the model's training size capped at `defaultContextCap`. */
  contextSize?: number;
  gpu: false | "auto";
  onLog: (level: LlamaLogLevel, message: string) => void;
}

const defaultContextCap = 4096;

/** One model and one context sequence of node-llama-cpp, used by one generation at a time. */
export class LlamaTextGenerator implements TextGenerator {
  private constructor(
    private readonly lib: NodeLlamaCpp,
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly sequence: LlamaContextSequence,
    /** The chat prompt format, resolved once from the model's template or name. */
    readonly chatWrapper: LlamaChatWrapper,
  ) {}

  /** Loads the model file and creates its context. */
  static async load(lib: NodeLlamaCpp, options: LlamaLoadOptions): Promise<LlamaTextGenerator> {
    const info = await stat(options.modelPath);
    if (!info.isFile()) throw new Error(`Model path is not a file: ${options.modelPath}`);
    const llama = await lib.getLlama({
      gpu: options.gpu,
      build: "never", // never compile llama.cpp from source: the prebuilt binary or an error
      skipDownload: true,
      progressLogs: false,
      maxThreads: options.threads,
      logLevel: "warn",
      logger: options.onLog,
    });
    try {
      const model = await llama.loadModel({
        modelPath: options.modelPath,
        ...(options.gpu === false ? { gpuLayers: 0 } : {}),
      });
      const context = await model.createContext({
        contextSize: options.contextSize ?? { max: Math.min(defaultContextCap, model.trainContextSize) },
        threads: options.threads,
        sequences: 1,
      });
      const sequence = context.getSequence();
      const probe = new lib.LlamaChat({ contextSequence: sequence, chatWrapper: "auto" });
      const chatWrapper = probe.chatWrapper;
      probe.dispose();
      return new LlamaTextGenerator(lib, llama, model, context, sequence, chatWrapper);
    } catch (error) {
      await llama.dispose().catch(() => undefined);
      throw error;
    }
  }

  get contextSize(): number {
    return this.context.contextSize;
  }

  get buildType(): string {
    return this.llama.buildType;
  }

  async generate(
    input: GenerationInput,
    sampling: Sampling,
    onText: (text: string) => void,
    signal: AbortSignal,
  ): Promise<GenerationResult> {
    // No state leaks from one request to the next: every generation starts from an empty sequence.
    await this.sequence.clearHistory();
    const started = performance.now();
    const meterAtStart = this.sequence.tokenMeter.getState();
    let promptTokens: number | undefined;
    let firstChunkAt: number | undefined;
    let lastChunkAt = started;
    const promptTokensSoFar = (): number =>
      this.sequence.tokenMeter.getState().usedInputTokens - meterAtStart.usedInputTokens + 1;

    const options: LlamaGenerateOptions = {
      signal,
      maxTokens: sampling.maxTokens,
      temperature: sampling.temperature,
      topP: sampling.topP,
      customStopTriggers: sampling.stop,
      repeatPenalty:
        sampling.presencePenalty !== undefined || sampling.frequencyPenalty !== undefined
          ? {
              penalty: 1,
              presencePenalty: sampling.presencePenalty ?? 0,
              frequencyPenalty: sampling.frequencyPenalty ?? 0,
            }
          : false,
      // The prompt is decoded with logits only for its last token, so until the first token the
      // meter's input count is the prompt length minus one (later context shifts add to it).
      onToken: () => {
        promptTokens ??= promptTokensSoFar();
      },
      onTextChunk: (text) => {
        if (text === "") return;
        const now = performance.now();
        firstChunkAt ??= now;
        lastChunkAt = now;
        onText(text);
      },
      ...(sampling.topK !== undefined ? { topK: sampling.topK } : {}),
      ...(sampling.minP !== undefined ? { minP: sampling.minP } : {}),
      ...(sampling.seed !== undefined ? { seed: sampling.seed } : {}),
    };

    let result: LlamaGenerationResult;
    if (input.kind === "completion") {
      const completion = new this.lib.LlamaCompletion({ contextSequence: this.sequence });
      try {
        result = await completion.generateCompletionWithMeta(input.prompt, options);
      } finally {
        completion.dispose();
      }
    } else {
      const chat = new this.lib.LlamaChat({ contextSequence: this.sequence, chatWrapper: this.chatWrapper });
      try {
        result = await chat.generateResponse(input.history, options);
      } finally {
        chat.dispose();
      }
    }

    // Every sampled token is decoded with logits once (the last prompt token stands for the last
    // generated one, which is never fed back), so the output count is the number generated.
    const completionTokens =
      this.sequence.tokenMeter.getState().usedOutputTokens - meterAtStart.usedOutputTokens;
    const generated: GenerationResult = {
      text: result.response,
      finishReason: result.metadata.stopReason === "maxTokens" ? "length" : "stop",
      promptTokens: promptTokens ?? promptTokensSoFar(),
      completionTokens,
    };
    if (firstChunkAt !== undefined) {
      generated.firstTokenMs = firstChunkAt - started;
      if (completionTokens > 1 && lastChunkAt > firstChunkAt)
        generated.tokensPerSecond = ((completionTokens - 1) * 1000) / (lastChunkAt - firstChunkAt);
    }
    return generated;
  }

  async dispose(): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }
}
