import { ServerItem } from "../views/servers/ServerItem";
import type { CommandDefinition } from "./CommandContext";

/** The dashboard panel: live server tiles and the chat playground (`"chat"` or `"servers"`, then a profile id). */
export const openDashboard: CommandDefinition = {
  id: "mlx.openDashboard",
  run(ctx, tab?: unknown, profileId?: unknown) {
    // From a Servers view item: the item is the first argument; open its tile.
    if (tab instanceof ServerItem) {
      ctx.dashboard.open("servers", tab.server.profileId);
      return;
    }
    ctx.dashboard.open(tab, profileId);
  },
};
