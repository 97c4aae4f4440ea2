// A TCP proxy in front of a real server that stops passing the server's answers once the client has
// sent a given text (a query with a marker in it): a server that never answers that query, to prove
// a client-side timeout without a mock of the server.
import net from "node:net";

export interface StallingProxy {
  port: number;
  close(): Promise<void>;
}

export async function startStallingProxy(
  target: { host: string; port: number },
  marker: string,
): Promise<StallingProxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    let stalled = false;
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => undefined);
      socket.on("close", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on("data", (chunk: Buffer) => {
      if (chunk.includes(marker)) stalled = true;
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!stalled) client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
