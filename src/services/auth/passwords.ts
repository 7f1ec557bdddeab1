import { hash, verify } from "@node-rs/argon2";

/** Algorithm.Argon2id (a const enum, which isolated modules cannot import). */
const ARGON2ID = 2;

/** OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane. */
export const ARGON2_OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const MIN_PASSWORD_LENGTH = 10;
/** argon2 hashes anything, but a megabyte of "password" is a denial of service, not a password. */
export const MAX_PASSWORD_LENGTH = 256;

/**
 * The most common passwords of 10+ characters (from the public breach top lists); a short list
 * catches the worst choices without shipping a dictionary. Compared lowercased.
 */
const COMMON_PASSWORDS = new Set([
  "1234567890", "0123456789", "12345678910", "123456789a", "1234567890a", "a123456789", "1q2w3e4r5t",
  "1q2w3e4r5t6y", "qwertyuiop", "qwertyuiop123", "1qaz2wsx3edc", "zaq12wsxcde3", "qazwsxedcrfv", "asdfghjkl1",
  "asdfghjkl123", "password12", "password123", "password1234", "password!!", "passw0rd123", "p@ssw0rd123",
  "p@ssword123", "iloveyou12", "iloveyou123", "sunshine123", "princess123", "football123", "baseball123",
  "welcome123", "welcome1234", "letmein123", "letmein1234", "dragon1234", "monkey12345", "master12345",
  "superman123", "batman12345", "trustno1234", "admin12345", "administrator", "admin123456", "changeme123",
  "changeme1234", "qwerty12345", "qwerty123456", "1111111111", "0000000000", "9876543210", "abcdefghij",
  "abcdefg123", "abc1234567", "aaaaaaaaaa", "loveyou1234", "starwars123", "pokemon1234", "computer123",
  "whatever123", "football1234", "michael1234", "jennifer123", "charlie1234", "shadow12345", "mustang1234",
  "access1234", "hello12345", "hellohello", "passwordpassword", "mypassword", "mypassword1", "secret1234",
  "secretpassword", "temp123456", "test123456", "testtest123", "default123", "guest12345", "login12345",
  "q1w2e3r4t5", "1a2b3c4d5e", "zxcvbnm123", "zxcvbnmasd", "asdfasdfasdf", "qwerqwerqwer", "googledummy",
  "linkedin123", "facebook123", "samsung123", "apple12345", "summer2024", "winter2024", "spring2024",
  "autumn2024", "summer2025", "winter2025", "spring2025", "summer2026", "winter2026", "spring2026",
]);

export type PasswordProblem = { field: "password"; message: string };

/** Why a password may not be used, or undefined when it may. */
export function passwordProblem(password: string, normalisedEmail: string): PasswordProblem | undefined {
  const length = Array.from(password).length;
  if (length < MIN_PASSWORD_LENGTH) return { field: "password", message: `password: use at least ${MIN_PASSWORD_LENGTH} characters.` };
  if (length > MAX_PASSWORD_LENGTH) return { field: "password", message: `password: use at most ${MAX_PASSWORD_LENGTH} characters.` };
  const lower = password.normalize("NFC").toLowerCase();
  const local = normalisedEmail.split("@")[0] ?? "";
  if (lower === normalisedEmail || lower === local) return { field: "password", message: "password: must not be your email address." };
  if (COMMON_PASSWORDS.has(lower)) return { field: "password", message: "password: this is one of the most common passwords; choose another." };
  if (new Set(Array.from(lower)).size < 4) return { field: "password", message: "password: use more than three different characters." };
  return undefined;
}

/** Normalised email (NFC, trimmed, lowercased), or undefined when it is not an address. */
export function normaliseEmail(input: string): string | undefined {
  const email = input.normalize("NFC").trim().toLowerCase();
  if (email.length < 3 || email.length > 254) return undefined;
  // One @, a non-empty local part, a domain with a dot; no spaces or control characters.
  if (!/^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+\.[^\s@\p{Cc}]+$/u.test(email)) return undefined;
  return email;
}

/** argon2id hash in PHC format (salt included). */
export function hashPassword(password: string, signal?: AbortSignal): Promise<string> {
  return hash(password, ARGON2_OPTIONS, signal);
}

/** Checks a password against a PHC hash; false (not an error) for a malformed hash. */
export async function verifyPassword(phc: string, password: string, signal?: AbortSignal): Promise<boolean> {
  try {
    return await verify(phc, password, undefined, signal);
  } catch {
    return false;
  }
}
