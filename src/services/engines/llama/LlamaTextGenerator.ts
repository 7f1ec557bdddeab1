import { stat } from "node:fs/promises";
import type { FinishReason } from "./openaiProtocol";
import type {
  GbnfJsonSchema,
  Llama,
  LlamaChatFunctions,
  LlamaChatHistoryItem,
  LlamaChatWrapper,
  LlamaContext,
  LlamaContextSequence,
  LlamaEmbeddingContext,
  LlamaFunctionCallParamsChunk,
  LlamaGenerateOptions,
  LlamaGenerationResult,
  LlamaGrammar,
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

/** The tools of a chat generation: which it may call, and whether it must call one. */
export interface ChatTools {
  functions: LlamaChatFunctions;
  /** Start the answer with a call (OpenAI's tool_choice "required", or a named function). */
  force: boolean;
  /** More than one call in a turn (OpenAI's parallel_tool_calls; off unless asked, as in llama-server). */
  parallel: boolean;
}

/** The shape a chat answer must have (OpenAI's response_format): any JSON, or JSON that follows a schema. */
export type AnswerFormat = { type: "json_object" } | { type: "json_schema"; schema: GbnfJsonSchema };

export type GenerationInput =
  | { kind: "chat"; history: LlamaChatHistoryItem[]; tools?: ChatTools; format?: AnswerFormat }
  | { kind: "completion"; prompt: string };

/** A call the model made: the function and its arguments as generated (JSON text). */
export interface GeneratedToolCall {
  name: string;
  arguments: string;
}

/** What a generation streams: text, or a piece of a tool call's arguments. */
export type GenerationEvent =
  | { type: "text"; text: string }
  | { type: "toolCall"; index: number; name: string; argumentsDelta: string };

export interface GenerationResult {
  text: string;
  finishReason: FinishReason;
  /** The calls made, in order (finishReason "tool_calls" when there are any and none was cut short). */
  toolCalls: GeneratedToolCall[];
  /** The stop sequence that ended the generation, when one did. */
  stopSequence?: string;
  promptTokens: number;
  completionTokens: number;
  /** ms from the call to the first text chunk (undefined when nothing was generated). */
  firstTokenMs?: number;
  /** Decode speed: (completion tokens − 1) / (last chunk − first chunk). */
  tokensPerSecond?: number;
}

/** What the HTTP server needs from a loaded model. */
export interface TextGenerator {
  /** The context size of one sequence, which is what one generation can use. */
  readonly contextSize: number;
  /** Generations that may run at once (the context's sequences); the caller keeps to it. */
  readonly parallel: number;
  /** Generates from a fresh state, calling `onEvent` with each piece as it is decoded. */
  generate(
    input: GenerationInput,
    sampling: Sampling,
    onEvent: (event: GenerationEvent) => void,
    signal: AbortSignal,
  ): Promise<GenerationResult>;
  /** The number of tokens the chat prompt renders to with the model's template (tools included). */
  countChatTokens(history: readonly LlamaChatHistoryItem[], functions?: LlamaChatFunctions): number;
  /** The tokens of a plain completion prompt (with the model's BOS, as a completion starts). */
  countTextTokens(text: string): number;
  /** Perplexity of a text (see LlamaTextGenerator.score); holds a sequence as a generation does. */
  score(text: string, options: ScoreOptions, signal: AbortSignal): Promise<ScoreResult>;
  /** Embeddings of `inputs`, when the engine was started with --embedding; else undefined. One call at a time. */
  embed: ((inputs: readonly string[], signal: AbortSignal) => Promise<{ vectors: number[][]; tokens: number }>) | undefined;
  dispose(): Promise<void>;
}

export interface ScoreOptions {
  /** Tokens per row (mlx_lm.perplexity's --sequence-length); a text shorter than one row is one row. */
  sequenceLength: number;
  /** Score at most this many of the text's tokens (the rest is left out). */
  maxTokens?: number;
}

export interface ScoreResult {
  /** The text's tokens (with the model's BOS first, when it has one), and those scored. */
  tokens: number;
  scored: number;
  rows: number;
  sequenceLength: number;
  /** exp(mean negative log-likelihood) and its standard error (ppl · sd / √n, as mlx_lm.perplexity). */
  perplexity: number;
  standardError: number;
  meanNll: number;
  seconds: number;
}

export interface LlamaLoadOptions {
  modelPath: string;
  threads: number;
  /**
   * Exact context size of each sequence (node-llama-cpp's contextSize is per sequence: the
   * context holds contextSize × sequences cells); when absent, the model's training size capped
   * at `defaultContextCap`.
   */
  contextSize?: number;
  /** Sequences of the context: generations that run at once, decoded together in batches (default 1). */
  sequences?: number;
  /** Also create an embedding context (for /v1/embeddings). */
  embedding?: boolean;
  gpu: false | "auto";
  onLog: (level: LlamaLogLevel, message: string) => void;
}

const defaultContextCap = 4096;

/**
 * One model and one node-llama-cpp context with `parallel` sequences: each generation takes a free
 * sequence and gives it back, and node-llama-cpp decodes the busy ones together in one batch.
 */
export class LlamaTextGenerator implements TextGenerator {
  /** The sequences no generation holds now. */
  private readonly freeSequences: LlamaContextSequence[];

  private constructor(
    private readonly lib: NodeLlamaCpp,
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    sequences: readonly LlamaContextSequence[],
    /** The chat prompt format, resolved once from the model's template or name. */
    readonly chatWrapper: LlamaChatWrapper,
    private readonly embeddingContext: LlamaEmbeddingContext | undefined,
  ) {
    this.freeSequences = [...sequences];
    this.parallel = sequences.length;
    this.embed =
      embeddingContext === undefined ? undefined : (inputs, signal) => this.embedWith(embeddingContext, inputs, signal);
  }

  readonly parallel: number;

  readonly embed: TextGenerator["embed"];
  private readonly grammars = new Map<string, LlamaGrammar>();

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
      const parallel = options.sequences ?? 1;
      const context = await model.createContext({
        contextSize: options.contextSize ?? { max: Math.min(defaultContextCap, model.trainContextSize) },
        threads: options.threads,
        sequences: parallel,
      });
      const first = context.getSequence();
      const sequences = [first, ...Array.from({ length: parallel - 1 }, () => context.getSequence())];
      const probe = new lib.LlamaChat({ contextSequence: first, chatWrapper: "auto" });
      const chatWrapper = probe.chatWrapper;
      probe.dispose();
      const embeddingContext = options.embedding
        ? await model.createEmbeddingContext({ contextSize: { max: Math.min(defaultContextCap, model.trainContextSize) }, threads: options.threads })
        : undefined;
      return new LlamaTextGenerator(lib, llama, model, context, sequences, chatWrapper, embeddingContext);
    } catch (error) {
      await llama.dispose().catch(() => undefined);
      throw error;
    }
  }

  /** Per sequence, as node-llama-cpp counts it. */
  get contextSize(): number {
    return this.context.contextSize;
  }

  get buildType(): string {
    return this.llama.buildType;
  }

  async generate(
    input: GenerationInput,
    sampling: Sampling,
    onEvent: (event: GenerationEvent) => void,
    signal: AbortSignal,
  ): Promise<GenerationResult> {
    return this.withSequence((sequence) => this.generateOn(sequence, input, sampling, onEvent, signal));
  }

  /** Runs `work` on a free sequence it holds alone, emptied first: no state leaks from one request to the next. */
  private async withSequence<T>(work: (sequence: LlamaContextSequence) => Promise<T>): Promise<T> {
    const sequence = this.freeSequences.pop();
    if (sequence === undefined)
      throw new Error(`All ${this.parallel} sequences are generating: run at most ${this.parallel} generations at once.`);
    try {
      await sequence.clearHistory();
      return await work(sequence);
    } finally {
      // Also after an abort or an error: the next user clears what is left.
      this.freeSequences.push(sequence);
    }
  }

  /** One generation on a sequence it holds alone; usage is read from that sequence's own token meter. */
  private async generateOn(
    sequence: LlamaContextSequence,
    input: GenerationInput,
    sampling: Sampling,
    onEvent: (event: GenerationEvent) => void,
    signal: AbortSignal,
  ): Promise<GenerationResult> {
    const started = performance.now();
    const meterAtStart = sequence.tokenMeter.getState();
    let promptTokens: number | undefined;
    let firstChunkAt: number | undefined;
    let lastChunkAt = started;
    const promptTokensSoFar = (): number =>
      sequence.tokenMeter.getState().usedInputTokens - meterAtStart.usedInputTokens + 1;

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
        onEvent({ type: "text", text });
      },
      ...(sampling.topK !== undefined ? { topK: sampling.topK } : {}),
      ...(sampling.minP !== undefined ? { minP: sampling.minP } : {}),
      ...(sampling.seed !== undefined ? { seed: sampling.seed } : {}),
    };

    let result: LlamaGenerationResult;
    let toolCalls: GeneratedToolCall[] = [];
    if (input.kind === "completion") {
      const completion = new this.lib.LlamaCompletion({ contextSequence: sequence });
      try {
        result = await completion.generateCompletionWithMeta(input.prompt, options);
      } finally {
        completion.dispose();
      }
    } else {
      const tools = input.tools;
      const grammar = input.format === undefined ? undefined : await this.grammarFor(input.format);
      const chatWrapper = tools?.force ? this.forcedCallWrapper() : this.chatWrapper;
      const chat = new this.lib.LlamaChat({ contextSequence: sequence, chatWrapper });
      const calls: GeneratedToolCall[] = [];
      try {
        result = await chat.generateResponse(input.history, {
          ...options,
          ...(grammar !== undefined ? { grammar } : {}),
          ...(tools !== undefined
            ? {
                functions: tools.functions,
                ...(tools.parallel ? {} : { maxParallelFunctionCalls: 1 }),
                onFunctionCallParamsChunk: (chunk: LlamaFunctionCallParamsChunk) => {
                  const now = performance.now();
                  firstChunkAt ??= now;
                  lastChunkAt = now;
                  const call = (calls[chunk.callIndex] ??= { name: chunk.functionName, arguments: "" });
                  call.arguments += chunk.paramsChunk;
                  onEvent({ type: "toolCall", index: chunk.callIndex, name: chunk.functionName, argumentsDelta: chunk.paramsChunk });
                },
              }
            : {}),
        });
      } finally {
        chat.dispose();
      }
      // Finished calls as node-llama-cpp parsed them (a call without parameters streams no piece),
      // then any call the token limit cut short, with the arguments it got.
      const finished = result.functionCalls ?? [];
      toolCalls = finished.map((call, index) => ({
        name: call.functionName,
        arguments: calls[index]?.arguments || (call.params === undefined ? "" : JSON.stringify(call.params)),
      }));
      toolCalls.push(...calls.slice(finished.length));
    }

    // Every sampled token is decoded with logits once (the last prompt token stands for the last
    // generated one, which is never fed back), so the output count is the number generated.
    const completionTokens =
      sequence.tokenMeter.getState().usedOutputTokens - meterAtStart.usedOutputTokens;
    const stopReason = result.metadata.stopReason;
    const generated: GenerationResult = {
      text: result.response,
      finishReason:
        stopReason === "maxTokens" ? "length" : stopReason === "functionCalls" || (toolCalls.length > 0 && stopReason !== "abort") ? "tool_calls" : "stop",
      toolCalls,
      promptTokens: promptTokens ?? promptTokensSoFar(),
      completionTokens,
    };
    const trigger = result.metadata.customStopTrigger;
    if (stopReason === "customStopTrigger" && trigger !== undefined) {
      const text = trigger.filter((part): part is string => typeof part === "string").join("");
      const matched = sampling.stop.find((stop) => stop === text) ?? sampling.stop.find((stop) => text.includes(stop));
      if (matched !== undefined) generated.stopSequence = matched;
    }
    if (firstChunkAt !== undefined) {
      generated.firstTokenMs = firstChunkAt - started;
      if (completionTokens > 1 && lastChunkAt > firstChunkAt)
        generated.tokensPerSecond = ((completionTokens - 1) * 1000) / (lastChunkAt - firstChunkAt);
    }
    return generated;
  }

  /** The grammar of an answer format, compiled once per schema (a few kept: agents send the same one every turn). */
  private async grammarFor(format: AnswerFormat): Promise<LlamaGrammar> {
    const key = format.type === "json_object" ? "json" : JSON.stringify(format.schema);
    const known = this.grammars.get(key);
    if (known !== undefined) return known;
    const grammar = format.type === "json_object" ? await this.llama.getGrammarFor("json") : await this.llama.createGrammarForJsonSchema(format.schema);
    if (this.grammars.size >= 16) this.grammars.delete(this.grammars.keys().next().value ?? "");
    this.grammars.set(key, grammar);
    return grammar;
  }

  countChatTokens(history: readonly LlamaChatHistoryItem[], functions?: LlamaChatFunctions): number {
    const state = this.chatWrapper.generateContextState({
      chatHistory: history,
      ...(functions !== undefined ? { availableFunctions: functions } : {}),
    });
    return state.contextText.tokenize(this.model.tokenizer).length;
  }

  /**
   * The chat wrapper with node-llama-cpp's function-calling mode engaged at the start of the answer:
   * the call prefix of the model's own template is put in the context and the function name and
   * parameters are generated under the tools' grammar — how a call is forced.
   */
  private forcedCallWrapper(): LlamaChatWrapper {
    const base = this.chatWrapper;
    const prefix = base.settings.functions?.call.prefix;
    if (prefix === undefined)
      throw new ToolsUnsupportedError(
        `The model's chat template (${base.wrapperName}) has no function-call syntax, so it cannot be made to call a tool.`,
      );
    const inject = this.lib.LlamaText(prefix);
    const forced: LlamaChatWrapper = Object.create(base) as LlamaChatWrapper;
    Object.defineProperty(forced, "generateContextState", {
      value: (options: Parameters<LlamaChatWrapper["generateContextState"]>[0]) => ({
        ...base.generateContextState(options),
        prefixTriggers: undefined,
        noPrefixTrigger: { type: "functionCall", inject },
      }),
    });
    return forced;
  }

  /**
   * Perplexity as mlx_lm.perplexity computes it: the text's tokens (BOS first) in rows of
   * `sequenceLength` with no overlap, each row evaluated from an empty sequence, every token but a
   * row's first scored by the probability the model gave it; PPL = exp(mean NLL), ± ppl · sd/√n.
   */
  async score(text: string, options: ScoreOptions, signal: AbortSignal): Promise<ScoreResult> {
    const started = performance.now();
    const bos = this.model.tokens.bos;
    let tokens = [...(bos === null ? [] : [bos]), ...this.model.tokenizer(text, false)];
    if (options.maxTokens !== undefined) tokens = tokens.slice(0, options.maxTokens);
    if (tokens.length < 2) throw new ScoreInputError(`The text is ${tokens.length} token${tokens.length === 1 ? "" : "s"}: perplexity needs at least 2.`);
    const length = Math.min(options.sequenceLength, this.contextSize, tokens.length);
    const rows = Math.floor(tokens.length / length);
    const nll: number[] = [];
    await this.withSequence(async (sequence) => {
      for (let row = 0; row < rows; row++) {
        signal.throwIfAborted();
        const ids = tokens.slice(row * length, (row + 1) * length);
        // Each row from an empty sequence, as mlx_lm.perplexity evaluates its rows apart.
        if (row > 0) await sequence.clearHistory();
        const results = await sequence.controlledEvaluate(ids.map((id, i) => (i < ids.length - 1 ? [id, { generateNext: { probabilities: true } }] : id)));
        for (let i = 0; i < ids.length - 1; i++) {
          const p = results[i]?.next.probabilities?.get(ids[i + 1] ?? -1) ?? 0;
          // A probability that underflowed to 0 counts as the smallest float32 one.
          nll.push(-Math.log(Math.max(p, 1e-45)));
        }
      }
    });
    const n = nll.length;
    const mean = nll.reduce((a, b) => a + b, 0) / n;
    const variance = n > 1 ? nll.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0;
    const perplexity = Math.exp(mean);
    return { tokens: tokens.length, scored: n, rows, sequenceLength: length, perplexity, standardError: (perplexity * Math.sqrt(variance)) / Math.sqrt(n), meanNll: mean, seconds: (performance.now() - started) / 1000 };
  }

  countTextTokens(text: string): number {
    return this.model.tokenizer(text, false).length + (this.model.tokens.bos === null ? 0 : 1);
  }

  /** Whether the model's chat template knows how to call functions. */
  get supportsTools(): boolean {
    return this.chatWrapper.settings.functions != null;
  }

  private async embedWith(
    context: LlamaEmbeddingContext,
    inputs: readonly string[],
    signal: AbortSignal,
  ): Promise<{ vectors: number[][]; tokens: number }> {
    const vectors: number[][] = [];
    let tokens = 0;
    for (const input of inputs) {
      signal.throwIfAborted();
      tokens += this.model.tokenizer(input).length;
      const embedding = await context.getEmbeddingFor(input);
      vectors.push([...embedding.vector]);
    }
    return { vectors, tokens };
  }

  async dispose(): Promise<void> {
    await this.embeddingContext?.dispose();
    await this.context.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }
}

/** A text perplexity cannot be computed for (answered 400). */
export class ScoreInputError extends Error {}

/** A request for tools the model's template cannot express (answered 400). */
export class ToolsUnsupportedError extends Error {}
