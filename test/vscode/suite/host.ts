// Helpers of the in-host suite: the extension's API, the fixture, and waiting for state.
import fs from "node:fs";
import * as vscode from "vscode";
import type { MlxExtensionApi } from "../../../src/extension";
import type { FixtureInfo } from "../fixture";

export const EXTENSION_ID = "mlx-model-manager.mlx-model-manager";

export function fixture(): FixtureInfo {
  const file = process.env["MLX_TEST_FIXTURE"];
  if (!file) throw new Error("MLX_TEST_FIXTURE is not set: run this suite through test/vscode/run.ts");
  return JSON.parse(fs.readFileSync(file, "utf8")) as FixtureInfo;
}

export async function extensionApi(): Promise<MlxExtensionApi> {
  const extension = vscode.extensions.getExtension<MlxExtensionApi>(EXTENSION_ID);
  if (!extension) throw new Error(`${EXTENSION_ID} is not installed`);
  return extension.isActive ? extension.exports : extension.activate();
}

export async function waitFor<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
