// The readiness loop against a real local HTTP server, with the engine descriptions' own probes.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ENGINES } from "../../../../src/services/engines/registry";
import { anyFreePort } from "../../../../src/services/servers/ports";
import { waitForReadiness, type ReadinessWait } from "../../../../src/services/servers/readiness";

/** A stand-in engine: answers each request as `answer` says (a status, or "hang" to never answer). */
async function engineServer(
  answer: (count: number) => number | "hang",
): Promise<{ url: string; paths: string[]; close: () => void }> {
  const paths: string[] = [];
  const server = http.createServer((request, response) => {
    paths.push(request.url ?? "");
    const status = answer(paths.length);
    if (status !== "hang") response.writeHead(status).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    paths,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

function wait(overrides: Partial<ReadinessWait> & Pick<ReadinessWait, "baseUrl">): ReadinessWait {
  return {
    probe: ENGINES.llama.readiness,
    timeoutMs: 10_000,
    pollMs: 20,
    signal: new AbortController().signal,
    exited: new Promise<void>(() => undefined),
    interrupted: () => undefined,
    stillWanted: () => true,
    ...overrides,
  };
}

describe("readiness", () => {
  it("polls the engine's readiness probe until it passes", async () => {
    const engine = await engineServer((n) => (n <= 3 ? 503 : 200));
    try {
      assert.equal(await waitForReadiness(wait({ baseUrl: engine.url })), "ready");
      assert.deepEqual(engine.paths, ["/health", "/health", "/health", "/health"]);
    } finally {
      engine.close();
    }
  });

  it("gives up after the start timeout when the probe never passes", async () => {
    const engine = await engineServer(() => 503);
    try {
      const started = Date.now();
      assert.equal(
        await waitForReadiness(wait({ baseUrl: engine.url, timeoutMs: 400, pollMs: 50 })),
        "timed-out",
      );
      const took = Date.now() - started;
      assert.ok(took >= 400 && took < 3000, `took ${took} ms`);
      assert.ok(engine.paths.length >= 3, `probed ${engine.paths.length} times`);
    } finally {
      engine.close();
    }
  });

  it("stops at once when the process exits during a pause, with the error `interrupted` gives", async () => {
    const port = await anyFreePort();
    let exit: () => void = () => undefined;
    const exited = new Promise<void>((resolve) => {
      exit = resolve;
    });
    let gone = false;
    setTimeout(() => {
      gone = true;
      exit();
    }, 150);
    const started = Date.now();
    const waiting = waitForReadiness(
      wait({
        baseUrl: `http://127.0.0.1:${port}`,
        pollMs: 30_000,
        exited,
        interrupted: () => (gone ? new Error("exited with code 1 while starting") : undefined),
      }),
    );
    await assert.rejects(waiting, /exited with code 1 while starting/);
    assert.ok(Date.now() - started < 5000, "the 30 s pause was cut short");
  });

  it("does not count a passing check once the start is no longer wanted (stopped while the check was out)", async () => {
    const engine = await engineServer(() => 200);
    let asked = 0;
    try {
      const waiting = waitForReadiness(
        wait({
          baseUrl: engine.url,
          stillWanted: () => {
            asked++;
            return false;
          },
          interrupted: () => (asked > 0 ? new Error("stopped while it was starting") : undefined),
        }),
      );
      await assert.rejects(waiting, /stopped while it was starting/);
      assert.equal(asked, 1);
      assert.equal(engine.paths.length, 1);
    } finally {
      engine.close();
    }
  });

  it("an abort cuts short a check that is out", async () => {
    const engine = await engineServer(() => "hang");
    const abort = new AbortController();
    setTimeout(() => {
      abort.abort();
    }, 150);
    const started = Date.now();
    try {
      const waiting = waitForReadiness(
        wait({
          baseUrl: engine.url,
          signal: abort.signal,
          interrupted: () => (abort.signal.aborted ? new Error("aborted") : undefined),
        }),
      );
      await assert.rejects(waiting, /aborted/);
      assert.ok(Date.now() - started < 1500, "not the probe's 2 s timeout");
    } finally {
      engine.close();
    }
  });

  it("reports a slow start about every 10 s with the last check's result", async () => {
    const engine = await engineServer(() => 503);
    let clock = 0;
    const reports: string[] = [];
    try {
      const outcome = await waitForReadiness(
        wait({
          baseUrl: engine.url,
          timeoutMs: 40_000,
          // Every reading of the clock moves it on 4 s: no real waiting for the 10 s.
          now: () => (clock += 4000),
          onSlow: (result) => reports.push(result.ok ? "ok" : result.reason),
        }),
      );
      assert.equal(outcome, "timed-out");
      assert.deepEqual(reports, ["answered HTTP 503", "answered HTTP 503"]);
    } finally {
      engine.close();
    }
  });
});

describe("engine descriptions", () => {
  const ctx = { alias: "my-profile", modelPath: "/models/tiny" };

  it("say which model a request names: the alias for llama engines and mlx-openai-server (its --served-model-name), the model path for mlx_lm.server", () => {
    assert.equal(ENGINES.llama.requestModel(ctx), "my-profile");
    assert.equal(ENGINES["llama-server"].requestModel(ctx), "my-profile");
    assert.equal(ENGINES["mlx-lm"].requestModel(ctx), "/models/tiny");
    assert.equal(ENGINES["mlx-openai-server"].requestModel(ctx), "my-profile");
  });

  it("judge health by GET /health answering 200, and readiness too except mlx_lm's server (alone or distributed)", async () => {
    const engine = await engineServer((n) => (n === 1 ? 503 : 200));
    try {
      for (const description of Object.values(ENGINES)) {
        // A remote backend is any OpenAI-compatible server: its model list is what every one has.
        if (!description.runsHere) {
          assert.equal(description.health.target, "/v1/models");
          continue;
        }
        assert.equal(description.health.target, "/health");
        if (description.id !== "mlx-lm" && description.id !== "mlx-distributed") assert.equal(description.readiness.target, "/health");
      }
      assert.deepEqual(await ENGINES["mlx-openai-server"].readiness.check(engine.url, 2000), {
        ok: false,
        status: 503,
        reason: "answered HTTP 503",
      });
      assert.deepEqual(await ENGINES["mlx-lm"].health.check(engine.url, 2000), { ok: true, status: 200 });
      assert.deepEqual(engine.paths, ["/health", "/health"]);
      const closed = `http://127.0.0.1:${await anyFreePort()}`;
      assert.deepEqual(await ENGINES.llama.health.check(closed, 2000), {
        ok: false,
        reason: "connection refused",
      });
    } finally {
      engine.close();
    }
  });

  it("make mlx_lm.server's readiness one 1-token completion naming the profile's model and adapter, given all the time the load takes", async () => {
    const bodies: unknown[] = [];
    let release: () => void = () => undefined;
    const loaded = new Promise<void>((resolve) => {
      release = resolve;
    });
    // /health says ok at once (as mlx_lm.server's does); the completion waits for the "load".
    const server = http.createServer((request, response) => {
      if (request.url === "/health") {
        response.writeHead(200).end('{"status":"ok"}');
        return;
      }
      const chunks: Buffer[] = [];
      request.on("data", (c: Buffer) => chunks.push(c));
      request.on("end", () => {
        bodies.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
        void loaded.then(() => response.writeHead(200, { "content-type": "application/json" }).end('{"choices":[{"text":"!"}]}'));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      setTimeout(release, 2600);
      const outcome = await waitForReadiness(
        wait({ baseUrl: url, probe: ENGINES["mlx-lm"].readiness, request: { model: "/models/tiny", fields: { adapters: "/a" } } }),
      );
      assert.equal(outcome, "ready");
      assert.equal(bodies.length, 1, "one warm-up, not one every 2 s while the model loads");
      assert.deepEqual(bodies[0], { adapters: "/a", model: "/models/tiny", prompt: "Hello", max_tokens: 1, stream: false });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it("end the wait with the load failure the engine reads in its log, aborting the warm-up that hangs", async () => {
    const engine = await engineServer(() => "hang");
    try {
      const log: string[] = ["Starting httpd at 127.0.0.1 on port 8080..."];
      setTimeout(() => log.push("Traceback (most recent call last):", '  File "mlx_lm/utils.py", line 1, in load', "FileNotFoundError: No safetensors found in /models/tiny"), 300);
      const started = Date.now();
      const outcome = await waitForReadiness(
        wait({ baseUrl: engine.url, probe: ENGINES["mlx-lm"].readiness, loadFailure: () => ENGINES["mlx-lm"].loadFailure?.(log) }),
      );
      assert.deepEqual(outcome, { failed: "FileNotFoundError: No safetensors found in /models/tiny" });
      assert.ok(Date.now() - started < 3000, "at once, not at the start timeout");
    } finally {
      engine.close();
    }
  });
});
