// Ports, process identity and process groups, on real sockets and processes.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import net from "node:net";
import {
  commandMatches,
  groupAlive,
  isProcessRunning,
  isSameProcess,
  processCommandLine,
  signalGroup,
} from "../../../../src/services/servers/processes";
import {
  anyFreePort,
  findPortHolder,
  isPortFree,
  listeningInodes,
  nextFreePort,
} from "../../../../src/services/servers/ports";
import { processStartTime } from "../../../../src/services/process/processInfo";
import { waitFor } from "../../../helpers/servers";

async function listen(host = "127.0.0.1"): Promise<net.Server> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return server;
}

describe("ports", () => {
  it("tells a free port from a taken one and finds who holds it", async () => {
    const server = await listen();
    const port = (server.address() as net.AddressInfo).port;
    try {
      assert.equal(await isPortFree(port), false);
      assert.ok(listeningInodes(port).size > 0);
      const holder = await findPortHolder(port);
      assert.ok(holder, "the holder is found");
      assert.equal(holder.pid, process.pid);
      assert.match(holder.command, /node/);
      const next = await nextFreePort(port);
      assert.ok(next > port && (await isPortFree(next)));
      assert.equal(
        (await nextFreePort(port, 5, (p) => p === port + 1)) !== port + 1,
        true,
        "skips ports the caller reserved",
      );
    } finally {
      server.close();
    }
    await waitFor(async () => isPortFree(port), 2000, "the port to be free");
  });

  it("sees a listener on the wildcard address too", async () => {
    const server = await listen("0.0.0.0");
    const port = (server.address() as net.AddressInfo).port;
    try {
      assert.equal(await isPortFree(port), false);
    } finally {
      server.close();
    }
  });

  it("hands out free ports", async () => {
    const port = await anyFreePort();
    assert.ok(await isPortFree(port));
  });
});

describe("process identity", () => {
  it("matches a command line with or without an interpreter in front of the script", () => {
    const command = ["/tmp/bin/mlx_lm.server", "--model", "/m", "--port", "8080"];
    assert.ok(commandMatches(command, command));
    assert.ok(
      commandMatches(["node", "/tmp/bin/mlx_lm.server", "--model", "/m", "--port", "8080"], command),
      "a #! script run by its interpreter",
    );
    assert.ok(
      commandMatches(
        ["/usr/bin/python3", "/other/bin/mlx_lm.server", "--model", "/m", "--port", "8080"],
        command,
      ),
      "the same name elsewhere",
    );
    assert.ok(
      !commandMatches(["node", "/tmp/bin/mlx_lm.server", "--model", "/m", "--port", "8081"], command),
      "other arguments",
    );
    assert.ok(
      !commandMatches(["node", "/tmp/other", "--model", "/m", "--port", "8080"], command),
      "another program",
    );
  });

  it("recognises a live process by start time and command line, and refuses a reused pid", async () => {
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)", "--", "marker"], {
      detached: true,
      stdio: "ignore",
    });
    await new Promise((resolve) => child.once("spawn", resolve));
    const pid = child.pid!;
    try {
      const command = [process.execPath, "-e", "setTimeout(() => {}, 30000)", "--", "marker"];
      assert.deepEqual(processCommandLine(pid), command);
      const start = processStartTime(pid);
      assert.ok(isSameProcess({ pid, processStart: start, command }));
      assert.ok(
        !isSameProcess({ pid, processStart: "12345", command }),
        "another start time: another process",
      );
      assert.ok(
        !isSameProcess({ pid, processStart: start, command: [process.execPath, "other.js"] }),
        "another command line",
      );
      assert.ok(groupAlive(pid), "detached: it leads its own group");
    } finally {
      signalGroup(pid, "SIGKILL");
    }
    await new Promise((resolve) => child.once("exit", resolve));
    assert.equal(isProcessRunning(pid), false);
    assert.equal(groupAlive(pid), false);
    assert.equal(signalGroup(pid, "SIGTERM"), false, "signalling a gone group is not an error");
  });
});
