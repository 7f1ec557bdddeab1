import type { CommandDefinition } from "./CommandContext";

/** The extension's own log (where every reported error is written). */
export const showLog: CommandDefinition = {
  id: "mlx.showLog",
  run(ctx) {
    ctx.log.show(true);
  },
};
