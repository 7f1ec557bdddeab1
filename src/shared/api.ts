import * as z from "zod";
import type { CachedModel } from "./models";
import type { EngineInfo } from "./engines";
import type { Profile } from "./profiles";

export const DEFAULT_MANAGER_PORT = 8471;

/** `GET /api/status` */
export interface ManagerStatus {
  version: string;
  pid: number;
  startedAt: number;
  url: string;
  dataDir: string;
  hfCache: string;
  models: number;
  profiles: number;
  /** Things the user must be told, e.g. that a corrupt database was moved aside. */
  notices: string[];
}

/** `GET /api/models` */
export interface ModelList {
  models: CachedModel[];
  scannedAt: number;
  cacheDir: string;
}

/** `DELETE /api/models/:id` query: a single revision, or the whole repo when absent. */
export const DeleteModelQuery = z.object({ revision: z.string().min(1).max(200).optional() }).strict();

/** `DELETE /api/models/:id` answer. */
export interface DeleteModelResult {
  id: string;
  revision?: string;
  freedBytes: number;
}

/** `GET /api/profiles` */
export interface ProfileList {
  profiles: Profile[];
}

/** `GET /api/engines` */
export interface EngineList {
  engines: EngineInfo[];
}

/** `POST /api/profiles/import` answer. */
export interface ImportResult {
  created: Profile[];
  /** Profiles in the file that were refused, with why. */
  skipped: { name: string; code: string; message: string; field?: string }[];
}
