import fs from "node:fs";
import os from "node:os";
import { findExecutable } from "../servers/engineLocator";

/**
 * The Python that has mlx-lm: the interpreter on the `#!` line of its console scripts (mlx_lm.lora,
 * mlx_lm, mlx_lm.server: pip, pipx and uv write the absolute path of their venv's Python there),
 * found where the engines are looked for; else `python3` on PATH. MLX_MANAGER_TRAIN_PYTHON wins.
 */
export function pythonWithMlxLm(env: NodeJS.ProcessEnv = process.env, home = os.homedir(), executables: readonly string[] = []): string {
  const explicit = env["MLX_MANAGER_TRAIN_PYTHON"];
  if (explicit !== undefined && explicit !== "") return explicit;
  const candidates = [...executables, ...["mlx_lm.lora", "mlx_lm", "mlx_lm.server"].map((name) => findExecutable(name, env, home))];
  for (const script of candidates) {
    if (script === undefined || script === "") continue;
    try {
      const fd = fs.openSync(script, "r");
      const head = Buffer.alloc(512);
      const read = fs.readSync(fd, head, 0, head.length, 0);
      fs.closeSync(fd);
      const first = head.subarray(0, read).toString("utf8").split("\n", 1)[0] ?? "";
      const match = /^#!\s*(\/\S*python[\d.]*)\s*$/.exec(first);
      if (match?.[1] !== undefined) return match[1];
    } catch {
      // unreadable: the next one
    }
  }
  return "python3";
}
