// Installs the tool-calling llama-server stand-in (main.ts) as `<binDir>/llama-server`: bundled
// with esbuild, node shebang, mode 0755. Put binDir first on the manager's PATH.
import path from "node:path";
import { installNodeExecutable } from "../nodeExecutable";

export function installToolServer(binDir: string): Promise<string> {
  return installNodeExecutable(path.join(__dirname, "main.ts"), binDir, "llama-server");
}
