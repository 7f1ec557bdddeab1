// Debian's Chromium driven by playwright-core (no browser download), flags from docs/ENVIRONMENT.
import fs from "node:fs";
import { chromium, type Browser } from "playwright-core";
import { CHROMIUM } from "./codeServer";

/** Playwright gives every launch a fresh temporary profile (its own --user-data-dir). */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
