// The account source scenarios against a PostgreSQL source (a throwaway database of its own).
import { describe } from "vitest";
import { createTestDatabase, queryDatabase as query } from "../helpers/databases.js";
import { defineSourceScenarios } from "./source/scenarios.js";

describe("an account source in PostgreSQL", () => {
  defineSourceScenarios({
    async create() {
      const database = await createTestDatabase();
      await query(database.url, "CREATE TABLE customers (id serial PRIMARY KEY, plugchat_account_id text)");
      return {
        url: database.url,
        async setIds(ids) {
          await query(database.url, "TRUNCATE customers");
          await query(database.url, "INSERT INTO customers (plugchat_account_id) SELECT unnest($1::text[])", [
            ids,
          ]);
        },
        async storedIds() {
          const rows = await query<{ id: string | null }>(
            database.url,
            "SELECT plugchat_account_id AS id FROM customers ORDER BY plugchat_account_id",
          );
          return rows.map((row) => row.id);
        },
        drop: () => database.drop(),
      };
    },
    urlWithPassword(url, password) {
      const parsed = new URL(url);
      parsed.password = password;
      return parsed.toString();
    },
    unreachableUrl: (port, password) => `postgresql://postgres:${password}@127.0.0.1:${port}/crm`,
    sleepQuery: (seconds) => `SELECT pg_sleep(${seconds})::text`,
    writingQuery: "SELECT nextval('customers_id_seq')::text",
  });
});
