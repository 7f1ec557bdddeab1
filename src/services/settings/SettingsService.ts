import type { FastifyInstance } from "fastify";
import * as z from "zod";
import { DEFAULT_MANAGER_SETTINGS, ManagerSettings, ManagerSettingsPatch } from "../../shared/settings";
import { parseOrThrow } from "../api/ApiError";
import type { EventBus } from "../events/EventBus";
import type { Logger } from "../logging/Logger";
import type { Store } from "../store/Store";

interface SettingRow extends Record<string, unknown> {
  key: string;
  value: string;
}

/** The manager's settings (the `settings` table of migration 7): defaults, with the rows that change them. */
export class SettingsService {
  private current: ManagerSettings;

  constructor(private readonly deps: { store: Store; events: EventBus; logger: Logger; now?: () => number }) {
    this.current = this.read();
  }

  get(): ManagerSettings {
    return { ...this.current };
  }

  /** Applies a patch (checked whole), writes the changed rows in one batch and announces the result. */
  update(patch: unknown): ManagerSettings {
    const changes = parseOrThrow(ManagerSettingsPatch, patch, "settings");
    const next = ManagerSettings.parse({ ...this.current, ...changes });
    const at = (this.deps.now ?? Date.now)();
    const changed = (Object.keys(changes) as (keyof ManagerSettings)[]).filter((key) => next[key] !== this.current[key]);
    if (changed.length === 0) return this.get();
    this.deps.store.batch(changed.map((key) => ({ sql: "INSERT OR REPLACE INTO settings (key, value, updated_at) VALUES (?, ?, ?)", params: [key, JSON.stringify(next[key]), at] })));
    this.current = next;
    this.deps.logger.info("settings changed", Object.fromEntries(changed.map((key) => [key, next[key]])));
    this.deps.events.publish({ type: "settings.changed", data: this.get() });
    return this.get();
  }

  /** The stored rows over the defaults; a row that no longer reads (a hand-edited store, a removed setting) is ignored. */
  private read(): ManagerSettings {
    const settings: ManagerSettings = { ...DEFAULT_MANAGER_SETTINGS };
    const shape = ManagerSettings.shape;
    for (const row of this.deps.store.all<SettingRow>("SELECT key, value FROM settings")) {
      if (!(row.key in shape)) continue;
      const key = row.key as keyof ManagerSettings;
      let value: unknown;
      try {
        value = JSON.parse(row.value);
      } catch {
        continue;
      }
      const parsed = (shape[key] as z.ZodType).safeParse(value);
      if (parsed.success) Object.assign(settings, { [key]: parsed.data });
      else this.deps.logger.warn("a stored setting is not valid; its default applies", { key });
    }
    return settings;
  }
}

/** `GET /api/settings` and `PATCH /api/settings` (the loopback API only: shared mode has no route to them). */
export function registerSettingsRoutes(app: FastifyInstance, deps: { settings: SettingsService }): void {
  app.get("/api/settings", async (): Promise<ManagerSettings> => deps.settings.get());
  app.patch("/api/settings", async (request): Promise<ManagerSettings> => deps.settings.update(request.body ?? {}));
}
