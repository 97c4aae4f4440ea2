// A Plugchat simulator in a process of its own, driven by its parent over IPC. In its own process
// because the real Plugchat runs elsewhere: its CPU and memory must not be counted as the sync's.
//   node bench/children/simulator.mjs <accounts> <token>
import { startSimulator } from "../../build/simulator/index.js";

const accounts = Number(process.argv[2]);
const token = process.argv[3] ?? "bench-token";
const simulator = await startSimulator({ token, accounts, recordRequests: false });

const commands = {
  /** Every request waits `ms` before its answer (0: none). */
  latency({ ms }) {
    simulator.clearFaults();
    if (ms > 0) simulator.setFault({ type: "latency", ms });
    return ms;
  },
  /** Renames every `every`-th account (the first included), so that a rerun finds that share changed. */
  rename({ every, tag }) {
    const ids = simulator.listIds();
    let renamed = 0;
    for (let index = 0; index < ids.length; index += every) {
      simulator.setAccount(ids[index], { name: `${tag} ${index}` });
      renamed++;
    }
    return renamed;
  },
  requests: () => simulator.requestCount(),
  async close() {
    await simulator.close();
    setImmediate(() => process.exit(0));
    return true;
  },
};

process.on("message", async ({ id, command, args }) => {
  try {
    process.send({ id, result: await commands[command](args ?? {}) });
  } catch (error) {
    process.send({ id, error: String(error?.stack ?? error) });
  }
});
// The parent went away: nothing left to serve.
process.on("disconnect", () => process.exit(0));
process.send({ ready: true, url: simulator.url });
