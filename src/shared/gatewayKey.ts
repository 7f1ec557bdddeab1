import * as z from "zod";

/**
 * The local gateway key: a secret that opens the loopback listener's `/v1/*` only (never `/api/*`),
 * for terminals, scripts and tools that should reach the models but not administer the manager.
 */
export const GatewayKeyInfo = z.object({
  key: z.string().min(32),
  /** When this key was made (epoch ms); a rotation makes a new one. */
  createdAt: z.number(),
  /** The file it is kept in (mode 0600), for shells: `OPENAI_API_KEY=$(cat <file>)`. */
  file: z.string(),
});
export type GatewayKeyInfo = z.infer<typeof GatewayKeyInfo>;
