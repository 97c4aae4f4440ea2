// The parent's handle on a simulator child process (see children/simulator.mjs).
import { fork } from "node:child_process";

export const BENCH_TOKEN = "bench-token";
const CHILD = new URL("../children/simulator.mjs", import.meta.url);

/** Starts a simulator of `accounts` generated accounts in a child process. */
export async function startSimulatorProcess(accounts) {
  const child = fork(CHILD, [String(accounts), BENCH_TOKEN], {
    // Not the parent's flags (--cpu-prof...): they are for the process under study.
    execArgv: [],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const pending = new Map();
  let nextId = 0;
  const url = await new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`simulator process exited early (${code})`)));
    child.on("message", (message) => {
      if (message.ready) return resolve(message.url);
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (message.error) waiter?.reject(new Error(message.error));
      else waiter?.resolve(message.result);
    });
  });
  const call = (command, args) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      child.send({ id, command, args });
    });
  return {
    url,
    pid: child.pid,
    setLatency: (ms) => call("latency", { ms }),
    rename: (every, tag) => call("rename", { every, tag }),
    requestCount: () => call("requests"),
    async close() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      if (child.connected) await call("close").catch(() => undefined);
      await exited;
    },
  };
}
