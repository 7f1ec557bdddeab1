import crypto from "node:crypto";
import * as z from "zod";
import type { EngineDescription } from "../engines/registry";
import type { EngineId } from "../../shared/engines";
import { Profile, ProfileInput, ProfilePatch, type ProfileExport, type ProfileSpec } from "../../shared/profiles";
import type { ImportResult } from "../../shared/api";
import { ApiError, parseOrThrow } from "../api/ApiError";
import type { EventBus } from "../events/EventBus";
import type { Store } from "../store/Store";
import { resolveModel, type ModelCatalog } from "./modelResolution";
import { normalizePathOptions } from "./optionPaths";
import { readModelFacts } from "../engines/modelFacts";

interface ProfileRow extends Record<string, unknown> {
  id: string;
  name: string;
  version: number;
  data: string;
  created_at: number;
  updated_at: number;
}

const ExportFile = z.object({ kind: z.literal("mlx-manager.profiles"), version: z.literal(1), profiles: z.array(z.unknown()).max(1000) });

const StoredSpec = Profile.pick({ aliases: true, engine: true, model: true, port: true, options: true, restartOnCrash: true, idleTimeoutSec: true, pinned: true, group: true });

export interface ProfileServiceDeps {
  store: Store;
  catalog: ModelCatalog;
  events: EventBus;
  engines: Readonly<Record<EngineId, EngineDescription>>;
  /** The remote backends a remote profile may name (by id). */
  remotes?: { find(id: string): { id: string; name: string } | undefined };
  now?: () => number;
}

/** Create, read, update, duplicate and delete server profiles, validated against the cache. */
export class ProfileService {
  private readonly now: () => number;
  /** The parsed profiles; undefined after a write. */
  private cached: Profile[] | undefined;

  constructor(private readonly deps: ProfileServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Every profile, by name. Read from the store once and kept until this service writes one (the gateway routes every request through it). */
  list(): Profile[] {
    this.cached ??= this.deps.store.all<ProfileRow>("SELECT * FROM profiles ORDER BY name_key").map((row) => this.fromRow(row));
    return [...this.cached];
  }

  /** The profile as answers and events show it: with what its server can do (not stored; read from the model's files). */
  describe(profile: Profile): Profile {
    let modelPath: string | undefined;
    try {
      modelPath = resolveModel(profile.model, this.deps.catalog).path;
    } catch {
      // A model that is gone: the engine's claims from the options alone.
    }
    const facts = modelPath === undefined ? {} : readModelFacts(modelPath);
    return { ...profile, capabilities: this.deps.engines[profile.engine].capabilities(profile.options, facts) };
  }

  /** By id, or by name (case-insensitive). */
  find(idOrName: string): Profile | undefined {
    const row =
      this.deps.store.get<ProfileRow>("SELECT * FROM profiles WHERE id = ?", [idOrName]) ??
      this.deps.store.get<ProfileRow>("SELECT * FROM profiles WHERE name_key = ?", [nameKey(idOrName)]);
    return row ? this.fromRow(row) : undefined;
  }

  get(idOrName: string): Profile {
    const profile = this.find(idOrName);
    if (!profile) throw new ApiError(404, "not_found", `No profile "${idOrName}". List them with GET /api/profiles.`);
    return profile;
  }

  create(input: unknown): Profile {
    const parsed = parseOrThrow(ProfileInput, input, "profile");
    const spec: ProfileSpec = { ...parsed, options: normalizePathOptions(parsed.options, parsed.engine) };
    this.validate(spec);
    const now = this.now();
    const profile: Profile = { id: crypto.randomUUID(), ...spec, version: 1, createdAt: now, updatedAt: now };
    this.insert(profile);
    this.deps.events.publish({ type: "profile.created", data: this.describe(profile) });
    return profile;
  }

  /** Applies a patch made against `version`; a stale version is a 409 carrying the current one. */
  update(idOrName: string, patch: unknown): Profile {
    const { version, ...changes } = parseOrThrow(ProfilePatch, patch, "profile edit");
    const current = this.get(idOrName);
    if (current.version !== version) throw this.conflict(current, version);
    const parsed: ProfileSpec = parseOrThrow(ProfileInput, { ...this.specOf(current), ...changes }, "profile");
    if ((parsed.engine === "remote") !== (current.engine === "remote")) {
      throw new ApiError(400, "validation_failed", `A profile served here cannot become a remote one, nor the other way round: create a new profile (and delete "${current.name}" if it is no longer needed).`, "engine");
    }
    const spec: ProfileSpec = { ...parsed, options: normalizePathOptions(parsed.options, parsed.engine) };
    this.validate(spec, current.id);
    const updated: Profile = { ...current, ...spec, version: current.version + 1, updatedAt: this.now() };
    this.cached = undefined;
    this.deps.store.run("UPDATE profiles SET name = ?, name_key = ?, version = ?, data = ?, updated_at = ? WHERE id = ? AND version = ?", [
      updated.name,
      nameKey(updated.name),
      updated.version,
      JSON.stringify(StoredSpec.parse(updated)),
      updated.updatedAt,
      updated.id,
      current.version,
    ]);
    this.deps.events.publish({ type: "profile.updated", data: this.describe(updated) });
    return updated;
  }

  /** Copies a profile under a new name ("<name> copy", "<name> copy 2", ...). */
  duplicate(idOrName: string, name?: string): Profile {
    const source = this.get(idOrName);
    return this.create({ ...this.specOf(source), name: name ?? this.freeName(`${source.name} copy`) });
  }

  /** Deletes a profile; with `version` given, only if nobody changed it since. */
  delete(idOrName: string, version?: number): Profile {
    const current = this.get(idOrName);
    if (version !== undefined && current.version !== version) throw this.conflict(current, version);
    this.cached = undefined;
    this.deps.store.run("DELETE FROM profiles WHERE id = ?", [current.id]);
    this.deps.events.publish({ type: "profile.deleted", data: { id: current.id, name: current.name } });
    return current;
  }

  export(idsOrNames?: string[]): ProfileExport {
    const profiles = idsOrNames && idsOrNames.length > 0 ? idsOrNames.map((id) => this.get(id)) : this.list();
    return { kind: "mlx-manager.profiles", version: 1, profiles: profiles.map((p) => this.specOf(p)) };
  }

  /** Creates every valid profile of an export file; refused ones are reported, not fatal. */
  import(file: unknown): ImportResult {
    // Entries are validated one by one so that one bad profile does not refuse the whole file.
    const parsed = parseOrThrow(ExportFile, file, "profile export file");
    const result: ImportResult = { created: [], skipped: [] };
    for (const entry of parsed.profiles) {
      try {
        result.created.push(this.create(entry));
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        const name = typeof entry === "object" && entry !== null && "name" in entry ? String(entry.name) : "(unnamed)";
        result.skipped.push({ name, code: error.code, message: error.message, ...(error.field === undefined ? {} : { field: error.field }) });
      }
    }
    return result;
  }

  /** Checks what a schema cannot: unique name, model exists and fits the engine, options it takes. */
  private validate(spec: ProfileSpec, selfId?: string): void {
    const clash = this.deps.store.get<ProfileRow>("SELECT id FROM profiles WHERE name_key = ?", [nameKey(spec.name)]);
    if (clash && clash.id !== selfId) {
      throw new ApiError(409, "name_taken", `A profile named "${spec.name}" already exists. Choose another name.`, "name");
    }
    this.validateAliases(spec, selfId);
    if (spec.pinned && spec.idleTimeoutSec !== null && spec.idleTimeoutSec > 0) {
      throw new ApiError(400, "validation_failed", "A pinned profile keeps running, so it cannot also stop when idle: set idleTimeoutSec to null (or 0), or unpin it.", "idleTimeoutSec");
    }
    const engine = this.deps.engines[spec.engine];
    for (const key of Object.keys(spec.options)) {
      if (!(engine.options as readonly string[]).includes(key)) {
        throw new ApiError(400, "validation_failed", `${engine.label} does not take the option "${key}". It takes: ${engine.options.join(", ")}.`, `options.${key}`);
      }
    }
    const problem = engine.optionProblem?.(spec.options);
    if (problem !== undefined) throw new ApiError(400, "validation_failed", problem.message, problem.field);
    if ((spec.engine === "remote") !== (spec.model.source === "remote")) {
      throw new ApiError(400, "validation_failed", spec.engine === "remote" ? 'A remote profile names its model as {"source": "remote", "backend": <backend id>, "model": <its model id>}.' : `A model of a remote backend is served by the "remote" engine, not ${engine.label}.`, spec.engine === "remote" ? "model" : "engine");
    }
    if (spec.model.source === "remote") {
      const backend = spec.model.backend;
      if (this.deps.remotes?.find(backend) === undefined) throw new ApiError(404, "not_found", `No remote backend "${backend}". Add it first (MLX: Add Remote Backend, or \`mlx-manager remotes add URL\`).`, "model.backend");
      if (spec.port !== "auto") throw new ApiError(400, "validation_failed", "A remote profile runs nothing here, so it has no port: leave port out (auto).", "port");
      return;
    }
    const model = resolveModel(spec.model, this.deps.catalog);
    if (!engine.formats.includes(model.format)) {
      throw new ApiError(
        400,
        "model_format_mismatch",
        `${engine.label} serves ${engine.formats.join(" or ")} models, but this model is ${model.format}. Pick an engine that serves ${model.format}.`,
        "engine",
      );
    }
  }

  /**
   * An alias is given once, and is not the profile's own name. An exact alias that another profile
   * has too, or that is another profile's name, makes the two replicas of that name (the gateway
   * serves it from either). A profile's name may not be another profile's alias (rename one instead).
   */
  private validateAliases(spec: ProfileSpec, selfId: string | undefined): void {
    const others = this.list().filter((p) => p.id !== selfId);
    const named = others.find((p) => (p.aliases ?? []).some((a) => nameKey(a) === nameKey(spec.name)));
    if (named !== undefined) throw new ApiError(409, "alias_taken", `"${spec.name}" is an alias of profile "${named.name}". To make this profile a replica of that name, give it the alias instead; or choose another name.`, "name");
    const seen = new Set<string>([nameKey(spec.name)]);
    (spec.aliases ?? []).forEach((alias, i) => {
      const key = nameKey(alias);
      if (seen.has(key)) throw new ApiError(400, "validation_failed", `The alias "${alias}" is given twice (or is the profile's own name).`, `aliases.${i}`);
      seen.add(key);
    });
  }

  private conflict(current: Profile, sent: number): ApiError {
    return new ApiError(
      409,
      "version_conflict",
      `Profile "${current.name}" was changed elsewhere (you edited version ${sent}, it is now version ${current.version}). Reload it and apply your change again.`,
      "version",
      { current },
    );
  }

  private insert(profile: Profile): void {
    this.cached = undefined;
    this.deps.store.run("INSERT INTO profiles (id, name, name_key, version, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)", [
      profile.id,
      profile.name,
      nameKey(profile.name),
      profile.version,
      JSON.stringify(StoredSpec.parse(profile)),
      profile.createdAt,
      profile.updatedAt,
    ]);
  }

  private freeName(base: string): string {
    for (let n = 1; ; n++) {
      const candidate = n === 1 ? base : `${base} ${n}`;
      if (!this.find(candidate)) return candidate;
    }
  }

  private specOf(profile: Profile): ProfileSpec {
    const { name, aliases, engine, model, port, options, restartOnCrash, idleTimeoutSec, pinned, group } = profile;
    return { name, ...(aliases === undefined || aliases.length === 0 ? {} : { aliases }), engine, model, port, options, restartOnCrash, idleTimeoutSec, pinned, group };
  }

  private fromRow(row: ProfileRow): Profile {
    const spec = StoredSpec.parse(JSON.parse(row.data));
    return { id: row.id, name: row.name, version: row.version, createdAt: row.created_at, updatedAt: row.updated_at, ...spec };
  }
}

function nameKey(name: string): string {
  return name.trim().toLowerCase();
}
