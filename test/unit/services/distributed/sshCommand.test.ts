// The remote command as the remote shell reads it: every hostile argument arrives as one word,
// unchanged (checked by a real /bin/sh); ssh is told never to prompt or accept an unknown host key.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { shellQuote, sshArgs } from "../../../../src/services/distributed/sshCommand";

const HOSTILE = ["plain", "with space", "it's", "$(touch /tmp/pwned)", "`id`", "a;b", "a&&b", "new\nline", "*", "~", "-rf", "\"quoted\"", "tab\there", "", "é ü"];

describe("ssh commands for other Macs", () => {
  it("quotes each argument so the remote shell gets it back as one unchanged word", () => {
    const script = `for a in ${HOSTILE.map(shellQuote).join(" ")}; do printf '%s\\0' "$a"; done`;
    const words = execFileSync("/bin/sh", ["-c", script], { encoding: "utf8" }).split("\0").slice(0, -1);
    assert.deepEqual(words, HOSTILE);
  });

  it("never prompts, refuses unknown host keys, and takes no host that ssh would read as an option", () => {
    const args = sshArgs({ host: "me@studio.local", port: 2222, identityFile: "/k/id", knownHostsFile: "/k/known" }, ["python3", "-c", "print('hi')"]);
    assert.deepEqual(args.slice(0, 8), ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR"]);
    assert.deepEqual(args.slice(-3), ["--", "me@studio.local", "python3 -c 'print('\\''hi'\\'')'"]);
    assert.ok(args.includes("UserKnownHostsFile=/k/known") && args.includes("IdentitiesOnly=yes"));
    for (const host of ["-oProxyCommand=touch /tmp/x", "", "two words"]) assert.throws(() => sshArgs({ host }, ["true"]), /not a host name/);
  });
});
