// The account source scenarios against a MariaDB source (the machine's, 127.0.0.1:3306). Without a
// reachable MariaDB they are reported as skipped, with the reason; under CI=true they fail instead.
import mysql from "mysql2/promise";
import { describe, it } from "vitest";
import { createMariadbTestDatabase, MARIADB_ADMIN_URL, mariadbReachable } from "../helpers/mariadb.js";
import { defineSourceScenarios } from "./source/scenarios.js";

const reachable = await mariadbReachable();
const where = new URL(MARIADB_ADMIN_URL).host;
if (!reachable && process.env.CI === "true") {
  throw new Error(
    `MariaDB at ${where} is not reachable and CI=true: start it (.ci/run does) or set TEST_MARIADB_URL`,
  );
}

describe.skipIf(!reachable)(`an account source in MariaDB (${where})`, () => {
  defineSourceScenarios({
    async create() {
      const database = await createMariadbTestDatabase();
      await database.query(
        "CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, plugchat_account_id VARCHAR(200) NULL)",
      );
      await database.query("CREATE SEQUENCE customer_numbers");
      return {
        url: database.url,
        async setIds(ids) {
          await database.query("DELETE FROM customers");
          if (ids.length > 0) {
            await database.query("INSERT INTO customers (plugchat_account_id) VALUES ?", [
              ids.map((id) => [id]),
            ]);
          }
        },
        async storedIds() {
          const connection = await mysql.createConnection({ uri: database.url });
          try {
            const [rows] = await connection.query(
              "SELECT plugchat_account_id AS id FROM customers ORDER BY plugchat_account_id",
            );
            return (rows as { id: string | null }[]).map((row) => row.id);
          } finally {
            await connection.end();
          }
        },
        drop: () => database.drop(),
      };
    },
    urlWithPassword(url, password) {
      const parsed = new URL(url);
      parsed.password = password;
      return parsed.toString();
    },
    unreachableUrl: (port, password) => `mysql://root:${password}@127.0.0.1:${port}/crm`,
    sleepQuery: (seconds) => `SELECT SLEEP(${seconds})`,
    writingQuery: "SELECT NEXTVAL(customer_numbers)",
  });
});

if (!reachable) {
  it.skip(`MariaDB at ${where} is not reachable: the MariaDB account source tests were not run (start it: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd)`, () => {});
}
