import assert from "node:assert/strict";
import { planRoom, type HeldMemory, type RoomRequest } from "../../../../src/services/servers/MemoryBudget";

const MB = 1e6;

function held(name: string, over: Partial<HeldMemory> = {}): HeldMemory {
  return { profileId: name, profileName: name, bytes: 100 * MB, source: "measured", pinned: false, group: null, busy: false, startedBy: "request", lastActivityAt: 0, ...over };
}

function request(holders: HeldMemory[], over: Partial<RoomRequest> = {}): RoomRequest {
  return { needBytes: 100 * MB, budgetBytes: 250 * MB, holders, profile: { id: "new", name: "new", group: null }, requester: "owner", ...over };
}

describe("planRoom (the memory budget's choice)", () => {
  it("fits without stopping anything when there is room", () => {
    assert.deepEqual(planRoom(request([held("a")])), { kind: "fits" });
  });

  it("stops the least recently used idle servers, only as many as needed", () => {
    const plan = planRoom(request([held("a", { lastActivityAt: 30 }), held("b", { lastActivityAt: 10 }), held("c", { lastActivityAt: 20 })], { budgetBytes: 320 * MB }));
    assert.deepEqual(plan.kind === "evict" ? plan.victims.map((v) => v.profileName) : plan, ["b"]);
  });

  it("never stops a pinned or busy server, nor one of another group; a teammate only servers requests started", () => {
    const holders = [held("pinned", { pinned: true, lastActivityAt: 1 }), held("busy", { busy: true, lastActivityAt: 2 }), held("grouped", { group: "coders", lastActivityAt: 3 }), held("owners", { startedBy: "user", lastActivityAt: 4 })];
    const owner = planRoom(request(holders, { budgetBytes: 420 * MB }));
    assert.deepEqual(owner.kind === "evict" ? owner.victims.map((v) => v.profileName) : owner, ["owners"]);
    const teammate = planRoom(request(holders, { budgetBytes: 420 * MB, requester: "teammate" }));
    if (teammate.kind !== "blocked") assert.fail(`blocked expected, got ${teammate.kind}`);
    assert.equal(teammate.retryAfterSec, 10, "a request in flight may end soon");
    assert.match(teammate.message, /^Not enough memory to start "new": it needs about 100 MB, and the memory budget of 420 MB is held by /);
    for (const why of ['"pinned" 100 MB (pinned)', '"busy" 100 MB (answering a request)', '"grouped" 100 MB (in group "coders")', '"owners" 100 MB (started by the owner)']) assert.ok(teammate.message.includes(why), why);
    const inGroup = planRoom(request(holders, { budgetBytes: 420 * MB, profile: { id: "new", name: "new", group: "coders" } }));
    assert.deepEqual(inGroup.kind === "evict" ? inGroup.victims.map((v) => v.profileName) : inGroup, ["grouped"]);
  });

  it("a model bigger than the whole budget is refused with what to change", () => {
    const plan = planRoom(request([], { needBytes: 300 * MB }));
    if (plan.kind !== "blocked") assert.fail(`blocked expected, got ${plan.kind}`);
    assert.match(plan.message, /more than the whole memory budget of 250 MB\. Raise the budget \(setting mlx\.memory\.budgetGB\)/);
  });
});
