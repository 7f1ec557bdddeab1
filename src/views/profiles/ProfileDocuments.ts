import * as vscode from "vscode";
import { ManagerRequestError } from "../../client/ManagerClient";
import { ProfileInput, type Profile } from "../../shared/profiles";
import type { ManagerConnection } from "../host/ManagerConnection";

export const PROFILE_SCHEME = "mlx-profile";

/** A profile document's JSON without its `$schema` (the editor's, not the profile's). */
export function withoutSchema(json: unknown): unknown {
  if (typeof json !== "object" || json === null || !("$schema" in json)) return json;
  const { $schema: _schema, ...rest } = json as Record<string, unknown>;
  return rest;
}

/** The fields of a profile a user edits (no id, version or timestamps), after the schema the editor checks them with. */
function editable(profile: Profile, schema: string | undefined): Record<string, unknown> {
  return { ...(schema === undefined ? {} : { $schema: schema }), name: profile.name, aliases: profile.aliases ?? [], engine: profile.engine, model: profile.model, port: profile.port, options: profile.options, restartOnCrash: profile.restartOnCrash, idleTimeoutSec: profile.idleTimeoutSec, pinned: profile.pinned, group: profile.group };
}

/**
 * "Edit as JSON": profiles as documents under `mlx-profile:/`. Saving validates with the shared
 * schema, then writes through the manager; problems show as diagnostics on the offending field.
 */
export class ProfileDocuments implements vscode.FileSystemProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  readonly onDidChangeFile = this.changed.event;
  readonly diagnostics = vscode.languages.createDiagnosticCollection("mlx-profile");
  /** Per document: the profile id and version it was read at, or the draft of a new profile. */
  private readonly documents = new Map<string, { id?: string; version?: number; draft?: Uint8Array; mtime: number }>();

  /**
   * @param schemaUri media/schemas/mlx-profile.schema.json of the extension: named by each document's
   *   `$schema`, so the JSON editor completes and checks every option as it is typed.
   */
  constructor(
    private readonly connection: ManagerConnection,
    private readonly schemaUri?: vscode.Uri,
  ) {}

  /** A document for an existing profile. */
  uriFor(profile: Profile): vscode.Uri {
    return vscode.Uri.from({ scheme: PROFILE_SCHEME, path: `/${profile.name}.json`, query: `id=${encodeURIComponent(profile.id)}` });
  }

  /** A document for a profile that does not exist yet, prefilled with `draft`. */
  uriForNew(draft: ProfileInput): vscode.Uri {
    const uri = vscode.Uri.from({ scheme: PROFILE_SCHEME, path: `/${draft.name || "new-profile"}.json`, query: `new=${Date.now()}` });
    const withSchema = this.schemaUri === undefined ? draft : { $schema: this.schemaUri.toString(), ...draft };
    this.documents.set(uri.toString(), { draft: new TextEncoder().encode(`${JSON.stringify(withSchema, null, 2)}\n`), mtime: Date.now() });
    return uri;
  }

  watch(): vscode.Disposable {
    return new vscode.Disposable(() => undefined);
  }

  stat(uri: vscode.Uri): vscode.FileStat {
    const doc = this.documents.get(uri.toString());
    return { type: vscode.FileType.File, ctime: 0, mtime: doc?.mtime ?? Date.now(), size: 0 };
  }

  async readFile(uri: vscode.Uri): Promise<Uint8Array> {
    const key = uri.toString();
    const doc = this.documents.get(key);
    if (doc?.draft) return doc.draft;
    const id = new URLSearchParams(uri.query).get("id");
    if (!id) throw vscode.FileSystemError.FileNotFound(uri);
    const profile = await (await this.connection.client()).profile(id);
    this.documents.set(key, { id: profile.id, version: profile.version, mtime: doc?.mtime ?? Date.now() });
    return new TextEncoder().encode(`${JSON.stringify(editable(profile, this.schemaUri?.toString()), null, 2)}\n`);
  }

  async writeFile(uri: vscode.Uri, content: Uint8Array): Promise<void> {
    const key = uri.toString();
    const doc = this.documents.get(key) ?? { mtime: Date.now() };
    const text = new TextDecoder().decode(content);
    this.diagnostics.delete(uri);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      return this.fail(uri, text, undefined, vscode.l10n.t("Not valid JSON: {0}", error instanceof Error ? error.message : String(error)));
    }
    json = withoutSchema(json);
    const parsed = ProfileInput.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return this.fail(uri, text, issue?.path.map(String).join("."), issue?.message ?? vscode.l10n.t("The profile is not valid."));
    }
    try {
      const client = await this.connection.client();
      let saved: Profile;
      if (doc.id === undefined) {
        saved = await client.createProfile(json as ProfileInput);
      } else {
        saved = await client.updateProfile(doc.id, { ...(json as Record<string, unknown>), version: doc.version ?? 1 });
      }
      this.documents.set(key, { id: saved.id, version: saved.version, mtime: Date.now() });
    } catch (error) {
      if (error instanceof ManagerRequestError) return this.fail(uri, text, error.field, error.message);
      throw error;
    }
  }

  private fail(uri: vscode.Uri, text: string, field: string | undefined, message: string): never {
    const range = rangeOfField(text, field);
    const diagnostic = new vscode.Diagnostic(range, field ? `${field}: ${message}` : message, vscode.DiagnosticSeverity.Error);
    diagnostic.source = "MLX";
    this.diagnostics.set(uri, [diagnostic]);
    throw vscode.FileSystemError.NoPermissions(vscode.l10n.t("The profile was not saved: {0}", diagnostic.message));
  }

  readDirectory(): [string, vscode.FileType][] {
    return [];
  }
  createDirectory(): void {
    throw vscode.FileSystemError.NoPermissions();
  }
  delete(): void {
    throw vscode.FileSystemError.NoPermissions();
  }
  rename(): void {
    throw vscode.FileSystemError.NoPermissions();
  }

  dispose(): void {
    this.changed.dispose();
    this.diagnostics.dispose();
  }
}

/** The range of the last key of a dotted field path in the JSON text, else the first line. */
export function rangeOfField(text: string, field: string | undefined): vscode.Range {
  const key = field?.split(".").filter((p) => !/^\d+$/.test(p)).pop();
  if (key) {
    const index = text.indexOf(`"${key}"`);
    if (index >= 0) {
      const before = text.slice(0, index);
      const line = before.split("\n").length - 1;
      const character = index - (before.lastIndexOf("\n") + 1);
      return new vscode.Range(line, character, line, character + key.length + 2);
    }
  }
  return new vscode.Range(0, 0, 0, 1);
}
