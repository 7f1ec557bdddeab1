import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import * as z from "zod";
import { writeFileAtomicSync } from "../fs/atomicWrite";
import { isProcessAlive, processStartTime } from "../process/processInfo";

/** What a running manager writes into its lock so clients can find it. */
export const LockInfo = z.object({
  pid: z.number(),
  /** The OS's start time of that pid, so a reused pid is not mistaken for us. */
  processStart: z.string().optional(),
  startedAt: z.number(),
  version: z.string(),
  /** Empty until the API listens. */
  url: z.string(),
});
export type LockInfo = z.infer<typeof LockInfo>;

export class ManagerAlreadyRunningError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockInfo,
  ) {
    super(
      `A manager is already running for ${dataDir} (pid ${holder.pid}${holder.url ? `, ${holder.url}` : ""}). ` +
        `Use that one, stop it with "mlx-manager shutdown", or pick another --data-dir.`,
    );
    this.name = "ManagerAlreadyRunningError";
  }
}

/** The files of one data directory and the single-instance lock on it. */
export class DataDir {
  readonly lockFile: string;
  readonly tokenFile: string;
  readonly logDir: string;
  readonly jwtSecretFile: string;

  constructor(readonly root: string) {
    this.lockFile = path.join(root, "manager.lock");
    this.tokenFile = path.join(root, "token");
    this.jwtSecretFile = path.join(root, "jwt-secret");
    this.logDir = path.join(root, "logs");
  }

  /** Creates the directory (private to this user) and its sub-folders. */
  ensure(): void {
    fs.mkdirSync(this.root, { recursive: true, mode: 0o700 });
    fs.mkdirSync(this.logDir, { recursive: true, mode: 0o700 });
  }

  /** The local API token: generated once (32 random bytes), file mode 0600. */
  loadOrCreateToken(): string {
    try {
      const token = fs.readFileSync(this.tokenFile, "utf8").trim();
      if (token.length >= 32) {
        if (process.platform !== "win32" && (fs.statSync(this.tokenFile).mode & 0o077) !== 0) {
          fs.chmodSync(this.tokenFile, 0o600);
        }
        return token;
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    const token = crypto.randomBytes(32).toString("base64url");
    writeFileAtomicSync(this.tokenFile, token, 0o600);
    return token;
  }

  /** Shared mode's JWT signing secret: 32 random bytes made at first use, file mode 0600, never a default. */
  loadOrCreateJwtSecret(): Buffer {
    try {
      const secret = Buffer.from(fs.readFileSync(this.jwtSecretFile, "utf8").trim(), "base64url");
      if (secret.length >= 32) {
        if (process.platform !== "win32" && (fs.statSync(this.jwtSecretFile).mode & 0o077) !== 0) fs.chmodSync(this.jwtSecretFile, 0o600);
        return secret;
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    return this.rotateJwtSecret();
  }

  /** A new JWT secret (every token signed with the old one stops working). */
  rotateJwtSecret(): Buffer {
    const secret = crypto.randomBytes(32);
    writeFileAtomicSync(this.jwtSecretFile, secret.toString("base64url"), 0o600);
    return secret;
  }

  /** Reads the lock; undefined when there is none or it is unreadable. */
  readLock(): LockInfo | undefined {
    try {
      const parsed = LockInfo.safeParse(JSON.parse(fs.readFileSync(this.lockFile, "utf8")));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  /** The lock's holder if that process is still the one that wrote it. */
  liveHolder(): LockInfo | undefined {
    const lock = this.readLock();
    if (!lock || !isProcessAlive(lock.pid)) return undefined;
    if (lock.processStart !== undefined) {
      const now = processStartTime(lock.pid);
      if (now !== undefined && now !== lock.processStart) return undefined;
    }
    return lock;
  }

  /**
   * Takes the single-instance lock, or throws ManagerAlreadyRunningError.
   * A stale lock (its process is gone, or the pid now belongs to another process) is taken over.
   * link(2) fails if the lock exists, so two managers starting at once cannot both win.
   */
  acquireLock(version: string): LockInfo {
    const info: LockInfo = { pid: process.pid, startedAt: Date.now(), version, url: "" };
    const start = processStartTime(process.pid);
    if (start !== undefined) info.processStart = start;
    const tmp = `${this.lockFile}.${process.pid}`;
    fs.writeFileSync(tmp, JSON.stringify(info), { mode: 0o600 });
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          fs.linkSync(tmp, this.lockFile);
          return info;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        }
        const holder = this.liveHolder();
        if (holder && holder.pid !== process.pid) throw new ManagerAlreadyRunningError(this.root, holder);
        // Stale: move it out of the way. Only one contender's rename succeeds; the others retry.
        try {
          fs.renameSync(this.lockFile, `${this.lockFile}.stale-${process.pid}`);
          fs.rmSync(`${this.lockFile}.stale-${process.pid}`, { force: true });
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
        }
      }
      const holder = this.readLock();
      if (holder) throw new ManagerAlreadyRunningError(this.root, holder);
      throw new Error(`Could not take the lock ${this.lockFile}; remove it if no manager is running.`);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }

  /** Records the URL the API listens on, for clients. */
  updateLock(info: LockInfo): void {
    writeFileAtomicSync(this.lockFile, JSON.stringify(info), 0o600);
  }

  /** Gives up the lock if it is still ours. */
  releaseLock(): void {
    const lock = this.readLock();
    if (lock?.pid === process.pid) fs.rmSync(this.lockFile, { force: true });
  }
}
