import * as z from "zod";

/** Where a workspace folder names its profile, relative to the folder. */
export const WORKSPACE_PROFILE_FILE = ".vscode/mlx-manager.json";

/**
 * `.vscode/mlx-manager.json`: "this repository uses this model". Committed with the code, so a
 * team shares which profile to run; each person's answer to "start it?" stays in their own window.
 * Its JSON schema for the editor is media/schemas/mlx-manager.schema.json.
 */
export const WorkspaceProfileFile = z
  .object({
    $schema: z.string().optional(),
    /** The profile (by name, case-insensitive) to start when the folder opens. */
    profile: z.string().trim().min(1, "name the profile to start").max(64, "profile names are at most 64 characters"),
    /** Ask to start it when the folder opens (default true); false only names it for "MLX: Start Workspace Profile". */
    autoStart: z.boolean().default(true),
    /** A profile export (`mlx-manager profiles export -o FILE`) in this folder, offered for import when the profile is missing here. */
    profilesFile: z
      .string()
      .min(1)
      .refine((p) => !p.startsWith("/") && !/^[A-Za-z]:/.test(p) && !p.split(/[\\/]/).includes(".."), "profilesFile is a path inside this folder (no absolute path, no ..)")
      .optional(),
  })
  .strict();
export type WorkspaceProfileFile = z.output<typeof WorkspaceProfileFile>;
