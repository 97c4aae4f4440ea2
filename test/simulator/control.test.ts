// The simulator driven by hand: its control API over real HTTP changes, deletes and restores accounts
// and sets faults, as the docs' curl examples do; `--accounts-file` serves a given list.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readAccountsFile } from "../../src/simulator/accounts-file.js";
import { type Simulator, startSimulator } from "../../src/simulator/index.js";
import { rejectionOf } from "../helpers/throws.js";

const TOKEN = "control-token";
let simulator: Simulator | undefined;

afterEach(async () => {
  await simulator?.close();
  simulator = undefined;
});

async function controlled(accounts: number): Promise<Simulator> {
  simulator = await startSimulator({ token: TOKEN, accounts, control: true });
  return simulator;
}

/** What Plugchat answers for `id`, as the sync sees it. */
async function plugchat(
  server: Simulator,
  id: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${server.url}/integrator/account/${id}/`, {
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function control(server: Simulator, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${server.url}/_simulator${path}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

describe("the simulator's control API", () => {
  it("renames an account, deletes it (404 from then on) and restores it as it was", async () => {
    const server = await controlled(3);
    expect(await (await control(server, "GET", "/accounts")).json()).toEqual({
      ids: ["acc-00001", "acc-00002", "acc-00003"],
    });
    const renamed = await control(server, "PATCH", "/accounts/acc-00002", {
      name: "Renamed Ltda",
      active: false,
    });
    expect(renamed.status).toBe(200);
    expect((await plugchat(server, "acc-00002")).body).toMatchObject({ name: "Renamed Ltda", active: false });

    expect((await control(server, "DELETE", "/accounts/acc-00002")).status).toBe(200);
    expect((await plugchat(server, "acc-00002")).status).toBe(404);
    expect((await control(server, "POST", "/accounts/acc-00002/restore")).status).toBe(200);
    expect(await plugchat(server, "acc-00002")).toMatchObject({
      status: 200,
      body: { name: "Renamed Ltda" },
    });
    // Restored once: nothing left to restore.
    expect((await control(server, "POST", "/accounts/acc-00002/restore")).status).toBe(404);
  });

  it("sets a fault for one account a number of times, or for all, and clears them", async () => {
    const server = await controlled(2);
    const set = await control(server, "POST", "/faults", {
      fault: { type: "status", status: 503 },
      accountId: "acc-00001",
      times: 1,
    });
    expect(set.status).toBe(200);
    expect((await plugchat(server, "acc-00001")).status).toBe(503);
    expect((await plugchat(server, "acc-00001")).status).toBe(200);
    await control(server, "POST", "/faults", { fault: { type: "status", status: 500 } });
    expect((await plugchat(server, "acc-00002")).status).toBe(500);
    expect((await control(server, "DELETE", "/faults")).status).toBe(200);
    expect((await plugchat(server, "acc-00002")).status).toBe(200);
    // The control API's own requests are not counted as Plugchat's.
    expect(await (await control(server, "GET", "/stats")).json()).toMatchObject({ requests: 4 });
  });

  it("refuses bad input with 400 saying what is wrong, and answers 405 to a wrong method", async () => {
    const server = await controlled(1);
    const badField = await control(server, "PATCH", "/accounts/acc-00001", { active: "yes" });
    expect(badField.status).toBe(400);
    expect(((await badField.json()) as { error: string }).error).toMatch(/^active: /);
    const unknownFault = await control(server, "POST", "/faults", { fault: { type: "explode" } });
    expect(unknownFault.status).toBe(400);
    const notJson = await fetch(`${server.url}/_simulator/faults`, { method: "POST", body: "{" });
    expect(notJson.status).toBe(400);
    expect((await control(server, "POST", "/accounts")).status).toBe(405);
    expect((await plugchat(server, "acc-00001")).body).toMatchObject({ active: expect.any(Boolean) });
  });

  it("is not served unless asked for: tests' simulators answer 404 there", async () => {
    simulator = await startSimulator({ token: TOKEN, accounts: 1 });
    expect((await fetch(`${simulator.url}/_simulator/accounts`)).status).toBe(404);
  });
});

describe("--accounts-file", () => {
  async function file(name: string, text: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "simulator-accounts-"));
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  }

  it("reads JSON ids, JSON accounts and a CSV whose columns name fields", async () => {
    const ids = await file("ids.json", '["a-1", "a-2"]');
    expect(Object.keys(await readAccountsFile(ids))).toEqual(["a-1", "a-2"]);
    const accounts = await file(
      "accounts.json",
      '[{"id": "a-1", "name": "One", "active": false, "externalId": "x1"}]',
    );
    expect(await readAccountsFile(accounts)).toMatchObject({
      "a-1": { name: "One", active: false, externalId: "x1" },
    });
    const csv = await file("accounts.csv", "id,name,active,external_id\nc-1,Clínica Um,false,\nc-2,,1,e2\n");
    expect(await readAccountsFile(csv)).toMatchObject({
      "c-1": { name: "Clínica Um", active: false, externalId: null },
      "c-2": { name: "Account c-2", active: true, externalId: "e2" },
    });
    for (const path of [ids, accounts, csv]) await rm(join(path, ".."), { recursive: true, force: true });
  });

  it("refuses a bad file in one line naming the file and what is wrong", async () => {
    const badJson = await file("bad.json", '[{"id": "a-1", "active": "yes"}]');
    expect((await rejectionOf(readAccountsFile(badJson))).message).toMatch(
      /^--accounts-file ".*bad\.json": .*active/,
    );
    const badId = await file("bad-id.json", '["has/slash"]');
    expect((await rejectionOf(readAccountsFile(badId))).message).toContain("is not a valid account id");
    const missing = await rejectionOf(readAccountsFile("/nonexistent/accounts.csv"));
    expect(missing.message).toContain("cannot be read (ENOENT)");
  });
});
