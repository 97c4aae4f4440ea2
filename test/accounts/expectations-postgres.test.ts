// Expected values from a PostgreSQL account source (a throwaway database of its own).
import { describe } from "vitest";
import { createTestDatabase, queryDatabase as query } from "../helpers/databases.js";
import { defineExpectationScenarios } from "./source/expectation-scenarios.js";

describe("expected values from an account source in PostgreSQL", () => {
  defineExpectationScenarios({
    async create() {
      const database = await createTestDatabase();
      await query(
        database.url,
        "CREATE TABLE customers (plugchat_account_id text, customer_key text, paying boolean, hook text, display_name text)",
      );
      return {
        url: database.url,
        async setCustomers(customers) {
          await query(database.url, "TRUNCATE customers");
          await query(
            database.url,
            `INSERT INTO customers SELECT * FROM unnest($1::text[], $2::text[], $3::boolean[], $4::text[], $5::text[])`,
            [
              customers.map((customer) => customer.accountId),
              customers.map((customer) => customer.key),
              customers.map((customer) => customer.paying),
              customers.map((customer) => customer.hook),
              customers.map((customer) => customer.displayName),
            ],
          );
        },
        drop: () => database.drop(),
      };
    },
  });
});
