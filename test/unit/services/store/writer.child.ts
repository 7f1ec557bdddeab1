// Child process of crash.test.ts: writes rows forever, printing "ack <n>" after each run() returns,
// until the parent kills it with SIGKILL.
// Usage: node --import tsx writer.child.ts <dir> <snapshotAfterJournalBytes> <snapshotEveryMs> <padBytes>
import { silentLogger } from "../../../../src/services/logging/Logger";
import { Store } from "../../../../src/services/store/Store";

async function main(): Promise<void> {
  const [dir, journalBytes, everyMs, padBytes] = process.argv.slice(2);
  if (dir === undefined) throw new Error("usage: writer.child.ts <dir> <journalBytes> <everyMs> <padBytes>");
  const { store } = await Store.open({
    dir,
    logger: silentLogger,
    migrations: [
      { version: 1, name: "acks", up: ["CREATE TABLE acks (n INTEGER PRIMARY KEY, pad TEXT NOT NULL)"] },
    ],
    snapshotAfterJournalBytes: Number(journalBytes ?? 4 * 1024 * 1024),
    snapshotEveryMs: Number(everyMs ?? 2000),
  });
  const pad = "x".repeat(Number(padBytes ?? 0));
  const last = store.get<{ n: number | null }>("SELECT max(n) AS n FROM acks")?.n ?? 0;
  process.stdout.write(`ready ${last}\n`);
  for (let n = last + 1; ; n++) {
    store.run("INSERT INTO acks (n, pad) VALUES (?, ?)", [n, pad]);
    // Writes to a pipe are synchronous on Linux and macOS: once printed, the parent may count it.
    process.stdout.write(`ack ${n}\n`);
    // Yield now and then so the debounced snapshot timer gets to run too.
    if (n % 5 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
