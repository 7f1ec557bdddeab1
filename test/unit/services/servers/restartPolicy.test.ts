// The crash-restart back-off as a pure function: doubling delays, the cap, the limit per window.
import assert from "node:assert/strict";
import { decideAfterCrash, type RestartLimits } from "../../../../src/services/servers/restartPolicy";
import { DEFAULT_SETTINGS } from "../../../../src/services/servers/SupervisorSettings";

describe("restart policy", () => {
  const limits: RestartLimits = DEFAULT_SETTINGS;

  /** Crashes at the given times, one after another, as the supervisor feeds them. */
  function crashAt(times: number[], given: RestartLimits = limits): ReturnType<typeof decideAfterCrash>[] {
    const decisions: ReturnType<typeof decideAfterCrash>[] = [];
    let crashes: number[] = [];
    for (const t of times) {
      const decision = decideAfterCrash(crashes, t, given);
      crashes = decision.crashes;
      decisions.push(decision);
    }
    return decisions;
  }

  it("restarts after 1 s, 2 s, 4 s, 8 s, 16 s and then gives up: at most 5 restarts in 10 minutes", () => {
    const decisions = crashAt([0, 10_000, 20_000, 30_000, 40_000, 50_000]);
    assert.deepEqual(
      decisions.map((d) => d.restartInMs),
      [1000, 2000, 4000, 8000, 16_000, undefined],
    );
    assert.equal(decisions[0]!.note, "Restarting in 1 second (restart 1 of at most 5 in 10 minutes).");
    assert.equal(decisions[4]!.note, "Restarting in 16 seconds (restart 5 of at most 5 in 10 minutes).");
    assert.equal(
      decisions[5]!.note,
      "It crashed 6 times in 10 minutes; not restarting (at most 5 restarts in 10 minutes). Start it again when the cause is fixed.",
    );
    assert.deepEqual(decisions[5]!.crashes, [0, 10_000, 20_000, 30_000, 40_000, 50_000]);
  });

  it("never waits longer than the cap", () => {
    const decisions = crashAt([0, 1, 2, 3], { ...limits, restartBackoffMs: 1000, restartBackoffMaxMs: 3000 });
    assert.deepEqual(
      decisions.map((d) => d.restartInMs),
      [1000, 2000, 3000, 3000],
    );
  });

  it("forgets crashes older than the window, so the back-off starts over", () => {
    const window = limits.restartWindowMs;
    const [, second, third] = crashAt([0, 1000, window + 1000]);
    assert.equal(second!.restartInMs, 2000);
    assert.deepEqual(third!.crashes, [window + 1000], "both earlier crashes left the window");
    assert.equal(third!.restartInMs, 1000);
    assert.match(third!.note, /restart 1 of at most 5/);
  });

  it("allows no restart at all with maxRestarts 0", () => {
    const [first] = crashAt([0], { ...limits, maxRestarts: 0 });
    assert.equal(first!.restartInMs, undefined);
    assert.match(first!.note, /crashed 1 times in 10 minutes; not restarting/);
  });
});
