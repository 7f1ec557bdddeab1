// The first-run walkthrough in the manifest: five steps in order, each with a button (a command
// link) to a contributed command, markdown media that exists, an English title and description,
// and completion events that name contributed commands. (The in-host suite checks the commands
// are registered in a real VS Code and runs Install an Engine.)
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..", "..");

interface Step { id: string; title: string; description: string; media: { markdown?: string }; completionEvents: string[] }
interface Walkthrough { id: string; title: string; description: string; steps: Step[] }
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { contributes: { commands: { command: string }[]; walkthroughs: Walkthrough[] } };
const nls = JSON.parse(fs.readFileSync(path.join(ROOT, "package.nls.json"), "utf8")) as Record<string, string>;
const english = (value: string): string => nls[/^%(.+)%$/.exec(value)?.[1] ?? ""] ?? assert.fail(`${value} has no English text`);

describe("first-run walkthrough", () => {
  const [walkthrough] = pkg.contributes.walkthroughs;
  const contributed = new Set(pkg.contributes.commands.map((c) => c.command));

  it("walks from engine to model, server, chat and team, in that order", () => {
    assert.ok(walkthrough);
    assert.equal(pkg.contributes.walkthroughs.length, 1);
    assert.deepEqual(walkthrough.steps.map((s) => s.id), ["installEngine", "findModel", "startServer", "chat", "share"]);
    assert.match(english(walkthrough.title), /MLX Model Manager/);
    english(walkthrough.description);
  });

  it("gives every step a button that runs the command doing it", () => {
    const buttons = Object.fromEntries(walkthrough!.steps.map((s) => [s.id, [...english(s.description).matchAll(/\[[^\]]+\]\(command:([\w.]+)\)/g)].map((m) => m[1]!)]));
    assert.deepEqual(buttons, {
      installEngine: ["mlx.installEngine"],
      findModel: ["mlx.searchHub"],
      startServer: ["mlx.createProfile", "mlx.startServer"],
      chat: ["mlx.openDashboard"],
      share: ["mlx.startSharedServer"],
    });
    for (const command of Object.values(buttons).flat()) assert.ok(contributed.has(command), `${command} is not contributed`);
  });

  it("has markdown media that ships and a completion event per step", () => {
    const allowList = fs.readFileSync(path.join(ROOT, ".vscodeignore"), "utf8");
    assert.match(allowList, /^!media\/\*\*$/m, "media/ must ship in the .vsix");
    for (const step of walkthrough!.steps) {
      english(step.title);
      const file = path.join(ROOT, step.media.markdown ?? assert.fail(`${step.id} has no markdown media`));
      assert.match(fs.readFileSync(file, "utf8"), /^# \S/, `${step.media.markdown} starts with a heading`);
      assert.ok(step.completionEvents.length > 0, step.id);
      for (const event of step.completionEvents) {
        const command = /^onCommand:([\w.]+)$/.exec(event)?.[1];
        assert.ok(command && contributed.has(command), `${step.id}: ${event}`);
      }
    }
  });
});
