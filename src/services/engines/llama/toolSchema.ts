// A tool's JSON schema (what OpenAI and Anthropic clients send) turned into the subset
// node-llama-cpp can follow as a grammar (its GbnfJsonSchema): type, properties, required,
// additionalProperties, items, prefixItems, enum, const, anyOf/oneOf, $ref into $defs, string
// lengths and date formats. Everything else (patterns, numeric bounds, titles, defaults, $schema)
// is dropped; a node with no usable constraint becomes "any JSON value".
import type { GbnfJsonSchema } from "./nodeLlamaCpp";

type Json = Readonly<Record<string, unknown>>;

const PRIMITIVE_TYPES = new Set(["string", "number", "integer", "boolean", "null"]);
const STRING_FORMATS = new Set(["date-time", "time", "date"]);

/** Any JSON value: what a schema without constraints allows. */
const ANY: GbnfJsonSchema = {
  oneOf: [
    { type: ["string", "number", "boolean", "null"] },
    { type: "array" },
    { type: "object", additionalProperties: true },
  ],
};

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isPrimitive(value: unknown): value is string | number | boolean | null {
  return value === null || ["string", "number", "boolean"].includes(typeof value);
}

/** Definition names as the grammar wants them: under `$defs`, referenced as `#/$defs/<name>`. */
function refTarget(ref: unknown): string | undefined {
  if (typeof ref !== "string") return undefined;
  const match = /^#\/(?:\$defs|definitions)\/([^/]+)$/.exec(ref);
  return match?.[1];
}

function withDescription(schema: Record<string, unknown>, source: Json): GbnfJsonSchema {
  if (typeof source["description"] === "string") schema["description"] = source["description"];
  return schema;
}

function convert(source: unknown, depth: number): GbnfJsonSchema {
  if (!isObject(source) || depth > 32) return ANY;
  const ref = refTarget(source["$ref"]);
  if (ref !== undefined) return withDescription({ $ref: `#/$defs/${ref}` }, source);
  if ("const" in source && isPrimitive(source["const"])) return withDescription({ const: source["const"] }, source);
  if (Array.isArray(source["enum"])) {
    const values = source["enum"].filter(isPrimitive);
    if (values.length > 0) return withDescription({ enum: values }, source);
  }
  const alternatives = source["anyOf"] ?? source["oneOf"];
  if (Array.isArray(alternatives) && alternatives.length > 0)
    return withDescription({ oneOf: alternatives.map((item) => convert(item, depth + 1)) }, source);
  const type = source["type"];
  if (Array.isArray(type)) {
    const names = type.filter((name): name is string => typeof name === "string");
    if (names.length > 0 && names.every((name) => PRIMITIVE_TYPES.has(name))) return withDescription({ type: names }, source);
    if (names.length > 0) return withDescription({ oneOf: names.map((name) => convert({ ...source, type: name }, depth + 1)) }, source);
    return ANY;
  }
  if (type === "object" || (type === undefined && isObject(source["properties"]))) return object(source, depth);
  if (type === "array") return array(source, depth);
  if (type === "string") {
    const schema: Record<string, unknown> = { type: "string" };
    if (typeof source["format"] === "string" && STRING_FORMATS.has(source["format"])) schema["format"] = source["format"];
    else {
      if (Number.isInteger(source["minLength"])) schema["minLength"] = source["minLength"];
      if (Number.isInteger(source["maxLength"])) schema["maxLength"] = source["maxLength"];
    }
    return withDescription(schema, source);
  }
  if (typeof type === "string" && PRIMITIVE_TYPES.has(type)) return withDescription({ type }, source);
  return ANY;
}

function object(source: Json, depth: number): GbnfJsonSchema {
  const schema: Record<string, unknown> = { type: "object" };
  const properties = isObject(source["properties"]) ? source["properties"] : {};
  const names = Object.keys(properties);
  if (names.length > 0)
    schema["properties"] = Object.fromEntries(names.map((name) => [name, convert(properties[name], depth + 1)]));
  const required = Array.isArray(source["required"]) ? source["required"].filter((name) => typeof name === "string" && names.includes(name)) : [];
  if (required.length > 0) schema["required"] = required;
  const extra = source["additionalProperties"];
  // JSON Schema allows other properties unless told not to; with none listed, an object is free-form.
  if (extra === false) schema["additionalProperties"] = false;
  else if (isObject(extra)) schema["additionalProperties"] = convert(extra, depth + 1);
  else if (names.length === 0) schema["additionalProperties"] = true;
  for (const key of ["minProperties", "maxProperties"] as const)
    if (Number.isInteger(source[key])) schema[key] = source[key];
  addDefs(schema, source, depth);
  return withDescription(schema, source);
}

function array(source: Json, depth: number): GbnfJsonSchema {
  const schema: Record<string, unknown> = { type: "array" };
  if (isObject(source["items"])) schema["items"] = convert(source["items"], depth + 1);
  if (Array.isArray(source["prefixItems"])) schema["prefixItems"] = source["prefixItems"].map((item) => convert(item, depth + 1));
  for (const key of ["minItems", "maxItems"] as const) if (Number.isInteger(source[key])) schema[key] = source[key];
  addDefs(schema, source, depth);
  return withDescription(schema, source);
}

function addDefs(schema: Record<string, unknown>, source: Json, depth: number): void {
  const defs = isObject(source["$defs"]) ? source["$defs"] : isObject(source["definitions"]) ? source["definitions"] : undefined;
  if (defs === undefined) return;
  schema["$defs"] = Object.fromEntries(Object.entries(defs).map(([name, def]) => [name, convert(def, depth + 1)]));
}

/** The grammar schema of a whole answer (`response_format`'s json_schema): always a schema, as far as a grammar can follow it. */
export function answerSchema(schema: unknown): GbnfJsonSchema {
  return convert(schema, 0);
}

/** The grammar schema of a tool's parameters; undefined when the tool takes none. */
export function toGbnfSchema(parameters: unknown): GbnfJsonSchema | undefined {
  if (!isObject(parameters)) return undefined;
  const properties = parameters["properties"];
  const extra = parameters["additionalProperties"];
  const takesNone =
    (parameters["type"] === "object" || parameters["type"] === undefined) &&
    (!isObject(properties) || Object.keys(properties).length === 0) &&
    extra !== true &&
    !isObject(extra) &&
    !["anyOf", "oneOf", "$ref", "enum", "const"].some((key) => key in parameters);
  // A function with an empty parameter object is called without parameters.
  return takesNone ? undefined : convert(parameters, 0);
}
