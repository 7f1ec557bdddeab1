import { JobItem } from "../views/jobs/JobItem";
import { ServerItem } from "../views/servers/ServerItem";
import type { CommandDefinition } from "./CommandContext";

/** The dashboard panel: server tiles, the chat playground and fine-tuning jobs (`"servers"`, `"chat"` or `"jobs"`, then a profile's or job's id). */
export const openDashboard: CommandDefinition = {
  id: "mlx.openDashboard",
  run(ctx, tab?: unknown, profileId?: unknown) {
    // From a Servers view item: the item is the first argument; open its tile.
    if (tab instanceof ServerItem) {
      ctx.dashboard.open("servers", tab.server.profileId);
      return;
    }
    // From a Fine-tuning Jobs item: the Jobs tab with its chart.
    if (tab instanceof JobItem) {
      ctx.dashboard.open("jobs", tab.job.id);
      return;
    }
    ctx.dashboard.open(tab, profileId);
  },
};
