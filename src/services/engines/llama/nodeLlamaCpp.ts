// The part of node-llama-cpp (3.x) the engine uses, typed by hand: the package is ESM-only and
// lives outside the project's node_modules (scripts/install-llama-engine.mjs), so its own
// typings are not visible to the compiler. Names and shapes follow its dist/*.d.ts.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";

export type LlamaLogLevel = "disabled" | "fatal" | "error" | "warn" | "info" | "log" | "debug";

export interface TokenMeterState {
  usedInputTokens: number;
  usedOutputTokens: number;
}

/** A token to evaluate, optionally asking for the next token's probabilities (full vocabulary at temperature 0). */
export type ControlledEvaluateInputItem = number | [token: number, options: { generateNext?: { probabilities?: boolean } }];

export interface LlamaContextSequence {
  readonly contextSize: number;
  readonly tokenMeter: { getState(): TokenMeterState };
  clearHistory(): Promise<void>;
  /** Evaluates `input` (since 3.4.0); an entry per input item, set where `generateNext` was asked. */
  controlledEvaluate(input: ControlledEvaluateInputItem[]): Promise<({ next: { probabilities?: Map<number, number> } } | undefined)[]>;
}

export interface LlamaContext {
  readonly contextSize: number;
  getSequence(): LlamaContextSequence;
  dispose(): Promise<void>;
}

/** node-llama-cpp's Tokenizer: a function from text to token ids. */
export type LlamaTokenizer = (text: string, specialTokens?: boolean) => number[];

/** A rendered prompt (node-llama-cpp's LlamaText); made with the module's `LlamaText(...)`. */
export interface LlamaText {
  tokenize(tokenizer: LlamaTokenizer): number[];
}

export interface LlamaEmbeddingContext {
  getEmbeddingFor(input: string): Promise<{ readonly vector: readonly number[] }>;
  dispose(): Promise<void>;
}

export interface LlamaModel {
  readonly trainContextSize: number;
  /** Special tokens; `bos` is null for a model without one. */
  readonly tokens: { readonly bos: number | null };
  readonly tokenizer: LlamaTokenizer;
  createEmbeddingContext(options: { contextSize?: number | { max?: number }; threads?: number }): Promise<LlamaEmbeddingContext>;
  createContext(options: {
    contextSize?: number | { min?: number; max?: number };
    threads?: number;
    sequences?: number;
    seed?: number;
  }): Promise<LlamaContext>;
  dispose(): Promise<void>;
}

/** A compiled grammar that holds a generation to a shape (node-llama-cpp's LlamaGrammar). */
export interface LlamaGrammar {
  readonly grammar: string;
}

export interface Llama {
  readonly buildType: string;
  /** A grammar for JSON that follows `schema`. */
  createGrammarForJsonSchema(schema: GbnfJsonSchema): Promise<LlamaGrammar>;
  /** A built-in grammar: "json" is any JSON value. */
  getGrammarFor(type: "json"): Promise<LlamaGrammar>;
  loadModel(options: { modelPath: string; gpuLayers?: "auto" | number }): Promise<LlamaModel>;
  dispose(): Promise<void>;
}

export interface LlamaRepeatPenalty {
  penalty?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
}

/** Options both LlamaCompletion and LlamaChat take for one generation. */
export interface LlamaGenerateOptions {
  onTextChunk?: (text: string) => void;
  onToken?: (tokens: number[]) => void;
  signal?: AbortSignal;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  seed?: number;
  repeatPenalty?: false | LlamaRepeatPenalty;
  customStopTriggers?: readonly string[];
  grammar?: LlamaGrammar;
}

export type LlamaStopReason =
  "eogToken" | "stopGenerationTrigger" | "customStopTrigger" | "functionCalls" | "maxTokens" | "abort";

export interface LlamaGenerationResult {
  response: string;
  functionCalls?: LlamaChatFunctionCallResult[];
  metadata: { stopReason: LlamaStopReason; customStopTrigger?: readonly unknown[] };
}

export interface LlamaCompletion {
  generateCompletionWithMeta(input: string, options: LlamaGenerateOptions): Promise<LlamaGenerationResult>;
  dispose(): void;
}

/** A call the model made, with its result, inside a model turn of the history. */
export interface LlamaChatFunctionCall {
  type: "functionCall";
  name: string;
  params: unknown;
  result: unknown;
  /** Whether this call starts a new group of parallel calls. */
  startsNewChunk?: boolean;
}

/** node-llama-cpp's ChatHistoryItem: text, and function calls with their results. */
export type LlamaChatHistoryItem =
  | { type: "system"; text: string }
  | { type: "user"; text: string }
  | { type: "model"; response: (string | LlamaChatFunctionCall)[] };

/** A JSON schema node-llama-cpp can turn into a grammar (its GbnfJsonSchema), built by toGbnfSchema. */
export type GbnfJsonSchema = Readonly<Record<string, unknown>>;

/** node-llama-cpp's ChatModelFunctions: the tools a generation may call. */
export type LlamaChatFunctions = Readonly<Record<string, { description?: string; params?: GbnfJsonSchema }>>;

/** What a chat wrapper renders for a history (node-llama-cpp's ChatWrapperGeneratedContextState). */
export interface LlamaContextState {
  contextText: LlamaText;
  prefixTriggers?: unknown;
  noPrefixTrigger?: { type: "functionCall"; inject: LlamaText } | { type: string; inject?: LlamaText };
  [key: string]: unknown;
}

/** A chat wrapper (prompt format) resolved once from the model's metadata. */
export interface LlamaChatWrapper {
  readonly wrapperName: string;
  readonly settings: {
    readonly functions?: { readonly call: { readonly prefix: unknown } } | null;
  };
  generateContextState(options: {
    chatHistory: readonly LlamaChatHistoryItem[];
    availableFunctions?: LlamaChatFunctions;
  }): LlamaContextState;
}

/** One piece of a function call's parameters as they are generated. */
export interface LlamaFunctionCallParamsChunk {
  callIndex: number;
  functionName: string;
  paramsChunk: string;
  done: boolean;
}

export interface LlamaChatFunctionCallResult {
  functionName: string;
  params: unknown;
}

export interface LlamaChat {
  readonly chatWrapper: LlamaChatWrapper;
  generateResponse(
    history: LlamaChatHistoryItem[],
    options: LlamaGenerateOptions & {
      functions?: LlamaChatFunctions;
      maxParallelFunctionCalls?: number;
      onFunctionCallParamsChunk?: (chunk: LlamaFunctionCallParamsChunk) => void;
    },
  ): Promise<LlamaGenerationResult>;
  dispose(): void;
}

export interface NodeLlamaCpp {
  getLlama(options: {
    gpu?: false | "auto";
    build?: "never";
    maxThreads?: number;
    logLevel?: LlamaLogLevel;
    logger?: (level: LlamaLogLevel, message: string) => void;
    progressLogs?: boolean;
    skipDownload?: boolean;
  }): Promise<Llama>;
  LlamaCompletion: new (options: { contextSequence: LlamaContextSequence }) => LlamaCompletion;
  LlamaChat: new (options: {
    contextSequence: LlamaContextSequence;
    chatWrapper?: "auto" | LlamaChatWrapper;
  }) => LlamaChat;
  /** Makes a LlamaText from a chat wrapper's text value (a string, or LlamaText's JSON-like parts). */
  LlamaText: (value: unknown) => LlamaText;
}

function isNodeLlamaCpp(value: unknown): value is NodeLlamaCpp {
  if (typeof value !== "object" || value === null) return false;
  const exports = value as Record<string, unknown>;
  return (
    typeof exports["getLlama"] === "function" &&
    typeof exports["LlamaCompletion"] === "function" &&
    typeof exports["LlamaChat"] === "function" &&
    typeof exports["LlamaText"] === "function"
  );
}

/** The name, version and entry file of a node-llama-cpp package.json. */
function readPackageJson(text: string, file: string): { version: string; main: string } {
  const pkg: unknown = JSON.parse(text);
  if (typeof pkg !== "object" || pkg === null) throw new Error(`${file} is not a package.json`);
  const fields = pkg as Record<string, unknown>;
  const { name, version, main } = fields;
  if (name !== "node-llama-cpp" || typeof version !== "string")
    throw new Error(`${file} is not node-llama-cpp's package.json`);
  return { version, main: typeof main === "string" ? main : "dist/index.js" };
}

/** The folder the engine loads node-llama-cpp from when none is given. */
export function defaultModuleDir(bundleDir: string): string {
  return path.join(bundleDir, "..", ".engines", "llama", "node_modules", "node-llama-cpp");
}

/** Why node-llama-cpp cannot be loaded from `moduleDir`, or undefined when it looks installed. */
export function moduleDirProblem(moduleDir: string): string | undefined {
  if (existsSync(path.join(moduleDir, "package.json"))) return undefined;
  return `node-llama-cpp is not installed in ${moduleDir}; run \`node scripts/install-llama-engine.mjs\` or pass --llama-module-dir`;
}

/** Imports node-llama-cpp from its package folder. */
export async function importNodeLlamaCpp(
  moduleDir: string,
): Promise<{ module: NodeLlamaCpp; version: string }> {
  const packageFile = path.join(moduleDir, "package.json");
  const pkg = readPackageJson(await readFile(packageFile, "utf8"), packageFile);
  const entry = pathToFileURL(path.join(moduleDir, pkg.main)).href;
  // A non-literal specifier keeps esbuild from turning this into require() in the CommonJS
  // bundle: node-llama-cpp is ESM-only and must be loaded with a real import().
  const loaded: unknown = await import(entry);
  if (!isNodeLlamaCpp(loaded))
    throw new Error(`${entry} does not export getLlama, LlamaCompletion, LlamaChat and LlamaText`);
  return { module: loaded, version: pkg.version };
}
