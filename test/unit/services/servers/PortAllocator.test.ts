// Port choice on real sockets: auto ports, the preferred port of a restart, reservations, and who holds a port.
import assert from "node:assert/strict";
import net from "node:net";
import { ApiError } from "../../../../src/services/api/ApiError";
import { isPortFree } from "../../../../src/services/servers/ports";
import { PortAllocator, type PortUser } from "../../../../src/services/servers/PortAllocator";

async function listen(): Promise<net.Server> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

function portOf(server: net.Server): number {
  return (server.address() as net.AddressInfo).port;
}

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => assert.fail("the port should be refused"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ApiError, String(error));
  return error;
}

describe("PortAllocator", () => {
  /** Live servers of other profiles, by port (what the supervisor would report). */
  const servers = new Map<number, PortUser & { profileId: string }>();
  const allocator = (): PortAllocator =>
    new PortAllocator({
      serverOn: (port, except) => {
        const user = servers.get(port);
        return user && user.profileId !== except ? user : undefined;
      },
    });
  const auto = (id: string) => ({ id, name: id, port: "auto" as const });

  afterEach(() => {
    servers.clear();
  });

  it("gives an auto profile a free port, and never the same one to two launches at once", async () => {
    const ports = allocator();
    const chosen = await Promise.all([
      ports.reserve(auto("a")),
      ports.reserve(auto("b")),
      ports.reserve(auto("c")),
    ]);
    assert.equal(new Set(chosen).size, 3);
    for (const port of chosen) assert.ok(await isPortFree(port), `${port} is free to listen on`);
  });

  it("keeps the preferred port of a restart while it is free, and picks another when it is not", async () => {
    const ports = allocator();
    const first = await ports.reserve(auto("a"));
    ports.release(first);
    assert.equal(await ports.reserve(auto("a"), first), first, "released: the restart gets it again");
    assert.notEqual(await ports.reserve(auto("b"), first), first, "still reserved by a's launch");

    const holder = await listen();
    try {
      const held = portOf(holder);
      assert.notEqual(await ports.reserve(auto("c"), held), held, "another process listens there");
      servers.set(first, { profileId: "a", profileName: "a", pid: 1234, command: ["x"] });
      ports.release(first);
      assert.notEqual(await ports.reserve(auto("d"), first), first, "the live server of profile a has it");
    } finally {
      holder.close();
    }
  });

  it("refuses a fixed port another process holds, naming the process and a free port to use", async () => {
    const holder = await listen();
    const port = portOf(holder);
    try {
      const error = await refusal(allocator().reserve({ id: "p", name: "fixed", port }));
      assert.equal(error.status, 409);
      assert.equal(error.code, "port_in_use");
      assert.equal(error.field, "port");
      assert.match(
        error.message,
        new RegExp(`^Port ${port} of profile "fixed" is in use by pid ${process.pid} \\(.*node`),
      );
      const details = error.details as { port: number; suggestedPort: number; holder: { pid: number } };
      assert.equal(details.port, port);
      assert.equal(details.holder.pid, process.pid);
      assert.ok(details.suggestedPort > port && (await isPortFree(details.suggestedPort)));
    } finally {
      holder.close();
    }
  });

  it("refuses a fixed port the server of another profile has, or a launch in progress reserved", async () => {
    const ports = allocator();
    const port = await ports.reserve(auto("a"));
    servers.set(port, {
      profileId: "a",
      profileName: "first",
      pid: 4321,
      command: ["llama-server", "--port", String(port)],
    });
    const byServer = await refusal(ports.reserve({ id: "b", name: "second", port }));
    assert.match(byServer.message, /in use by the server of profile "first" \(pid 4321\)/);
    assert.deepEqual((byServer.details as { holder: unknown }).holder, {
      pid: 4321,
      command: `llama-server --port ${port}`,
      profile: "first",
    });
    assert.equal(
      await ports.reserve({ id: "a", name: "first", port }).catch(() => "refused"),
      "refused",
      "reserved",
    );
    servers.clear();
    const byReservation = await refusal(ports.reserve({ id: "b", name: "second", port }));
    assert.match(byReservation.message, /in use by another process \(the OS did not say which\)/);
    ports.release(port);
    assert.equal(await ports.reserve({ id: "b", name: "second", port }), port, "free once released");
  });
});
