import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { SIMULATOR_DEV_TOKEN, simulatorCommand } from "../../src/simulator/command.js";

afterEach(() => {
  vi.unstubAllEnvs();
});

/**
 * Runs `plugchat-sync simulator ...args` in this process and waits for its one line. Tests stop it
 * with process.emit rather than a real signal, which would reach the test runner's own process.
 */
async function run(args: string[]) {
  const out: string[] = [];
  const command = simulatorCommand().configureOutput({ writeOut: (text) => out.push(text) });
  const done = command.parseAsync(args, { from: "user" });
  while (out.length === 0) {
    const early = await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 5, "waiting"))]);
    if (early !== "waiting") throw new Error("the simulator command ended before printing");
  }
  const line = out.join("");
  const url = /listening on (\S+)/.exec(line)?.[1] ?? "";
  return { line, url, done, out };
}

function getAccount(url: string, id: string, token: string) {
  return fetch(`${url}/integrator/account/${id}/`, {
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
  });
}

describe("plugchat-sync simulator", () => {
  it("serves N accounts, prints one line with the URL and count, writes the ids, stops on SIGTERM", async () => {
    vi.stubEnv("PLUGCHAT_TOKEN", "");
    const dir = await mkdtemp(join(tmpdir(), "simulator-command-"));
    try {
      const idsFile = join(dir, "ids.txt");
      const { line, url, done } = await run(["--accounts", "3", "--port", "0", "--ids-file", idsFile]);
      expect(line).toMatch(
        /^Plugchat simulator listening on http:\/\/127\.0\.0\.1:\d+ with 3 accounts .*\n$/,
      );
      expect(line).toContain(SIMULATOR_DEV_TOKEN);
      expect(await readFile(idsFile, "utf8")).toBe("acc-00001\nacc-00002\nacc-00003\n");
      expect((await getAccount(url, "acc-00003", SIMULATOR_DEV_TOKEN)).status).toBe(200);

      process.emit("SIGTERM", "SIGTERM");
      await done;
      await expect(getAccount(url, "acc-00001", SIMULATOR_DEV_TOKEN)).rejects.toThrow();
      expect(process.listenerCount("SIGTERM")).toBe(0);
      expect(process.listenerCount("SIGINT")).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("stops on SIGINT", async () => {
    const { url, done } = await run(["--accounts", "1", "--port", "0"]);
    process.emit("SIGINT", "SIGINT");
    await done;
    await expect(getAccount(url, "acc-00001", SIMULATOR_DEV_TOKEN)).rejects.toThrow();
  });

  it("uses --token without printing it", async () => {
    const { line, url, done } = await run(["--accounts", "1", "--port", "0", "--token", "cli-secret-123"]);
    try {
      expect(line).not.toContain("cli-secret-123");
      expect(line).toContain("token from --token");
      expect((await getAccount(url, "acc-00001", "cli-secret-123")).status).toBe(200);
      expect((await getAccount(url, "acc-00001", SIMULATOR_DEV_TOKEN)).status).toBe(401);
    } finally {
      process.emit("SIGTERM", "SIGTERM");
      await done;
    }
  });

  it("uses PLUGCHAT_TOKEN without printing it", async () => {
    vi.stubEnv("PLUGCHAT_TOKEN", "env-secret-456");
    const { line, url, done } = await run(["--accounts", "1", "--port", "0"]);
    try {
      expect(line).not.toContain("env-secret-456");
      expect(line).toContain("token from PLUGCHAT_TOKEN");
      expect((await getAccount(url, "acc-00001", "env-secret-456")).status).toBe(200);
    } finally {
      process.emit("SIGTERM", "SIGTERM");
      await done;
    }
  });

  it("serves the accounts of --accounts-file, with the control API, and refuses it beside --accounts", async () => {
    vi.stubEnv("PLUGCHAT_TOKEN", "");
    const dir = await mkdtemp(join(tmpdir(), "simulator-command-"));
    try {
      const accountsFile = join(dir, "accounts.csv");
      await writeFile(
        accountsFile,
        "id,name,active\nclinic-1,Clínica Um,true\nclinic-2,Clínica Dois,false\n",
      );
      const { line, url, done } = await run(["--accounts-file", accountsFile, "--port", "0"]);
      try {
        expect(line).toContain(" with 2 accounts ");
        expect(line).toContain(`control API at ${url}/_simulator/`);
        expect(await (await getAccount(url, "clinic-2", SIMULATOR_DEV_TOKEN)).json()).toMatchObject({
          name: "Clínica Dois",
          active: false,
        });
        expect((await fetch(`${url}/_simulator/accounts/clinic-1`, { method: "DELETE" })).status).toBe(200);
        expect((await getAccount(url, "clinic-1", SIMULATOR_DEV_TOKEN)).status).toBe(404);
      } finally {
        process.emit("SIGTERM", "SIGTERM");
        await done;
      }
      await expect(
        simulatorCommand().parseAsync(["--accounts", "3", "--accounts-file", accountsFile], { from: "user" }),
      ).rejects.toThrow("give --accounts or --accounts-file, not both");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ["--accounts", "many", "expected a whole number"],
    ["--port", "70000", "expected a port number"],
  ])("refuses %s %s", async (option, value, reason) => {
    const command = simulatorCommand()
      .exitOverride()
      .configureOutput({ writeErr: () => {} });
    await expect(command.parseAsync([option, value], { from: "user" })).rejects.toThrow(
      `'${value}' is invalid. ${reason}`,
    );
  });
});
