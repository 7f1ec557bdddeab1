// The benchmark client, bundled to dist/bench-client.js: the manager runs it in its own process
// for each benchmark, so its clock and its reads of the gateway's answers are its own, as any
// client's are. It reads one JSON request a line on stdin (the gateway key comes this way, never
// in its arguments) and writes one JSON line of timings for each; it ends when stdin ends. A
// warm-up request first opens the kept-alive connection, so that the cold request times the
// server's first answer, not this process's first fetch.
import readline from "node:readline";
import { timedRequest, warmUp, type TimedRequest } from "./timedRequest";

interface Line {
  id: number;
  request?: TimedRequest;
  /** A GET whose answer is dropped: the connection opened and the code warm before the first timed request. */
  warm?: { url: string; key: string };
  cancel?: boolean;
}

const running = new Map<number, AbortController>();

function reply(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

readline.createInterface({ input: process.stdin, terminal: false }).on("line", (text) => {
  let line: Line;
  try {
    line = JSON.parse(text) as Line;
  } catch {
    reply({ id: -1, error: "the benchmark client reads one JSON object a line" });
    return;
  }
  if (line.cancel === true) {
    running.get(line.id)?.abort();
    return;
  }
  const controller = new AbortController();
  running.set(line.id, controller);
  const warm = line.warm;
  const work = warm !== undefined
    ? warmUp(warm.url, warm.key, controller.signal).then(() => ({ promptTokens: 0, completionTokens: 0, textReads: 0 }))
    : line.request !== undefined ? timedRequest(line.request, controller.signal) : Promise.reject(new Error("a line names a request, a warm-up or a cancel"));
  work
    .then((timing) => { reply({ id: line.id, timing }); })
    .catch((error: unknown) => { reply({ id: line.id, error: error instanceof Error ? error.message : String(error) }); })
    .finally(() => running.delete(line.id));
}).on("close", () => {
  for (const controller of running.values()) controller.abort();
});
