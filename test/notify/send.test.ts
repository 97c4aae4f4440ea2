import { describe, expect, it } from "vitest";
import { sendNotification } from "../../src/notify/send.js";
import { PACKAGE_VERSION } from "../../src/version.js";
import { captureLogs } from "../helpers/logs.js";
import { type ReceivedRequest, status, useWebhookReceivers } from "../helpers/webhook-receiver.js";

/** A real local webhook receiver; `answer` decides each response from the number of the request (1, 2...). */
const startReceiver = useWebhookReceivers();

const payload = { event: "sync_run.finished", runId: 9, status: "partial", counts: { failed: 1 } };

describe("sendNotification", () => {
  it("POSTs the payload as JSON with the project's User-Agent, and returns true", async () => {
    const receiver = await startReceiver();
    const logs = captureLogs();
    expect(await sendNotification(receiver.url, payload, { logger: logs.logger })).toBe(true);
    expect(receiver.received).toHaveLength(1);
    const [request] = receiver.received as [ReceivedRequest];
    expect(request.method).toBe("POST");
    expect(request.url).toBe("/hooks/sync");
    expect(request.headers["content-type"]).toBe("application/json");
    expect(request.headers["user-agent"]).toBe(`plugchat-sync/${PACKAGE_VERSION}`);
    expect(JSON.parse(request.body)).toEqual(payload);
    expect(logs.withMessage("sync notification sent")).toMatchObject([{ level: "info", status: 200 }]);
  });

  it("retries after a 503, then delivers", async () => {
    const receiver = await startReceiver((n, response) => status(n === 1 ? 503 : 204)(n, response));
    const logs = captureLogs();
    const delivered = await sendNotification(receiver.url, payload, {
      logger: logs.logger,
      minRetryDelayMs: 10,
    });
    expect(delivered).toBe(true);
    expect(receiver.received.map((request) => JSON.parse(request.body))).toEqual([payload, payload]);
    expect(logs.lines().filter((line) => line.level === "warn")).toEqual([]);
  });

  it.each([408, 429, 500])("retries after a %i", async (code) => {
    const receiver = await startReceiver((n, response) => status(n === 1 ? code : 200)(n, response));
    const logs = captureLogs();
    expect(await sendNotification(receiver.url, payload, { logger: logs.logger, minRetryDelayMs: 10 })).toBe(
      true,
    );
    expect(receiver.received).toHaveLength(2);
  });

  it("gives up after the given number of attempts, with one warn line", async () => {
    const receiver = await startReceiver(status(502));
    const logs = captureLogs();
    const delivered = await sendNotification(receiver.url, payload, {
      logger: logs.logger,
      attempts: 3,
      minRetryDelayMs: 5,
    });
    expect(delivered).toBe(false);
    expect(receiver.received).toHaveLength(3);
    const warnings = logs.lines().filter((line) => line.level === "warn");
    expect(warnings).toMatchObject([{ msg: "sync notification not delivered", status: 502, attempts: 3 }]);
  });

  it("does not retry an answer that will not change (400)", async () => {
    const receiver = await startReceiver(status(400));
    const logs = captureLogs();
    expect(await sendNotification(receiver.url, payload, { logger: logs.logger, minRetryDelayMs: 5 })).toBe(
      false,
    );
    expect(receiver.received).toHaveLength(1);
    expect(logs.withMessage("sync notification not delivered")).toMatchObject([{ status: 400, attempts: 1 }]);
  });

  it("sends the URL's credentials as Basic authentication, not in the request line", async () => {
    const receiver = await startReceiver();
    const url = receiver.url.replace("http://", "http://notify:p%40ss@");
    expect(await sendNotification(url, payload, { logger: captureLogs().logger })).toBe(true);
    const [request] = receiver.received as [ReceivedRequest];
    expect(request.headers.authorization).toBe(`Basic ${Buffer.from("notify:p@ss").toString("base64")}`);
    expect(request.url).toBe("/hooks/sync");
  });

  it("never throws when nothing listens, and logs one warn line with the host only, never the password", async () => {
    const receiver = await startReceiver();
    await receiver.close(); // nothing listens on that port any more
    const logs = captureLogs();
    const url = `http://hooks:s3cret-pass@127.0.0.1:${receiver.port}/hooks/sync?token=query-secret`;

    const delivered = await sendNotification(url, payload, {
      logger: logs.logger,
      attempts: 2,
      minRetryDelayMs: 5,
    });

    expect(delivered).toBe(false);
    const warnings = logs.lines().filter((line) => line.level === "warn");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      msg: "sync notification not delivered",
      host: `127.0.0.1:${receiver.port}`,
      code: "ECONNREFUSED",
      attempts: 2,
    });
    expect(logs.text()).not.toContain("s3cret-pass");
    expect(logs.text()).not.toContain("query-secret");
  });

  it("gives up on a receiver that does not answer within the timeout", async () => {
    const receiver = await startReceiver(() => {}); // never answers
    const logs = captureLogs();
    const delivered = await sendNotification(receiver.url, payload, {
      logger: logs.logger,
      attempts: 2,
      // Long enough that, on a loaded machine, each request reaches the receiver before the sender
      // gives up on it: the receiver then proves both attempts were made.
      timeoutMs: 400,
      minRetryDelayMs: 5,
    });
    expect(delivered).toBe(false);
    expect(receiver.received).toHaveLength(2);
    expect(logs.withMessage("sync notification not delivered")).toMatchObject([{ code: "TIMEOUT" }]);
  });

  it("never throws on a URL it cannot use", async () => {
    const logs = captureLogs();
    expect(await sendNotification("not a url://x:y@z", payload, { logger: logs.logger })).toBe(false);
    expect(await sendNotification("ftp://u:hidden@example.com/x", payload, { logger: logs.logger })).toBe(
      false,
    );
    expect(logs.withMessage("sync notification not delivered")).toHaveLength(2);
    expect(logs.text()).not.toContain("hidden");
  });
});
