// Expected values from a MariaDB account source (the machine's): `paying` is a TINYINT(1), as MySQL
// and MariaDB store booleans. Without a reachable MariaDB they are reported as skipped; under CI=true
// they fail instead.
import { describe, it } from "vitest";
import { createMariadbTestDatabase, MARIADB_ADMIN_URL, mariadbReachable } from "../helpers/mariadb.js";
import { defineExpectationScenarios } from "./source/expectation-scenarios.js";

const reachable = await mariadbReachable();
const where = new URL(MARIADB_ADMIN_URL).host;
if (!reachable && process.env.CI === "true") {
  throw new Error(
    `MariaDB at ${where} is not reachable and CI=true: start it (.ci/run does) or set TEST_MARIADB_URL`,
  );
}

describe.skipIf(!reachable)(`expected values from an account source in MariaDB (${where})`, () => {
  defineExpectationScenarios({
    async create() {
      const database = await createMariadbTestDatabase();
      await database.query(
        "CREATE TABLE customers (plugchat_account_id VARCHAR(200), customer_key VARCHAR(200), paying TINYINT(1), hook TEXT, display_name VARCHAR(200)) DEFAULT CHARSET = utf8mb4",
      );
      return {
        url: database.url,
        async setCustomers(customers) {
          await database.query("DELETE FROM customers");
          await database.query("INSERT INTO customers VALUES ?", [
            customers.map((customer) => [
              customer.accountId,
              customer.key,
              customer.paying === null ? null : Number(customer.paying),
              customer.hook,
              customer.displayName,
            ]),
          ]);
        },
        drop: () => database.drop(),
      };
    },
  });
});

if (!reachable) {
  it.skip(`MariaDB at ${where} is not reachable: the MariaDB expectation tests were not run (start it: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd)`, () => {});
}
