import type { Profile } from "../../shared/profiles";
import { ApiError } from "../api/ApiError";
import { anyFreePort, findPortHolder, isPortFree, nextFreePort } from "./ports";

/** A live server of another profile, as far as the port check needs to know it. */
export interface PortUser {
  profileName: string;
  pid?: number | undefined;
  command: readonly string[];
}

export interface PortAllocatorOptions {
  /** The live server of a profile other than `exceptProfileId` on `port`, if there is one. */
  serverOn(port: number, exceptProfileId: string): PortUser | undefined;
}

/**
 * Chooses the port a launch listens on. A port stays reserved from the choice until the launch
 * releases it (when its start has ended, ready or not), so two starts checked at the same time
 * never get the same one.
 */
export class PortAllocator {
  private readonly reserved = new Set<number>();

  constructor(private readonly options: PortAllocatorOptions) {}

  /** A free port for "auto" (`preferred` while it is still free), else the profile's own, checked; reserved until released. */
  async reserve(profile: Pick<Profile, "id" | "name" | "port">, preferred?: number): Promise<number> {
    const taken = (port: number): boolean =>
      this.reserved.has(port) || this.options.serverOn(port, profile.id) !== undefined;
    if (profile.port === "auto") {
      if (preferred !== undefined && !taken(preferred) && (await isPortFree(preferred))) {
        this.reserved.add(preferred);
        return preferred;
      }
      for (let attempt = 0; attempt < 20; attempt++) {
        const port = await anyFreePort();
        if (!taken(port)) {
          this.reserved.add(port);
          return port;
        }
      }
      throw new ApiError(503, "unavailable", "Could not find a free port.");
    }
    const port = profile.port;
    const other = this.options.serverOn(port, profile.id);
    if (other !== undefined || this.reserved.has(port) || !(await isPortFree(port))) {
      throw await this.portInUse(profile, port, other, taken);
    }
    this.reserved.add(port);
    return port;
  }

  /** Ends the reservation of a port (its start has ended; a live server keeps it taken through `serverOn`). */
  release(port: number): void {
    this.reserved.delete(port);
  }

  /** 409 `port_in_use`: who holds the port, and the next free one to suggest. */
  private async portInUse(
    profile: Pick<Profile, "name">,
    port: number,
    other: PortUser | undefined,
    taken: (port: number) => boolean,
  ): Promise<ApiError> {
    const holder = other
      ? { pid: other.pid ?? 0, command: other.command.join(" ") }
      : await findPortHolder(port);
    const suggestedPort = await nextFreePort(port + 1, 200, taken);
    const who = other
      ? `the server of profile "${other.profileName}" (pid ${other.pid ?? "?"})`
      : holder
        ? `pid ${holder.pid} (${holder.command.length > 160 ? `${holder.command.slice(0, 157)}...` : holder.command})`
        : "another process (the OS did not say which)";
    return new ApiError(
      409,
      "port_in_use",
      `Port ${port} of profile "${profile.name}" is in use by ${who}. Stop it, or set the profile's port to ${suggestedPort} (free now) or "auto".`,
      "port",
      {
        port,
        suggestedPort,
        ...(holder
          ? {
              holder: {
                pid: holder.pid,
                command: holder.command,
                ...(other ? { profile: other.profileName } : {}),
              },
            }
          : {}),
      },
    );
  }
}
