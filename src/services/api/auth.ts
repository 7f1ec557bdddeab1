import crypto from "node:crypto";

/** Compares a presented bearer token with the expected one in constant time. */
export function bearerMatches(header: string | undefined, expected: string): boolean {
  if (!header?.startsWith("Bearer ")) return false;
  const presented = crypto.createHash("sha256").update(header.slice(7).trim()).digest();
  const wanted = crypto.createHash("sha256").update(expected).digest();
  return crypto.timingSafeEqual(presented, wanted);
}
