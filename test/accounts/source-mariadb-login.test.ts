// A login the MariaDB source refuses (the machine's, 127.0.0.1:3306) is named as such, whatever the
// reason: a wrong password, a locked account, an expired password. Never "check ACCOUNT_SOURCE_QUERY",
// and never the password. Without a reachable MariaDB the tests are reported as skipped; under
// CI=true they fail instead.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSourceRows } from "../../src/accounts/source/read-source.js";
import {
  createMariadbTestDatabase,
  MARIADB_ADMIN_URL,
  type MariadbTestDatabase,
  mariadbReachable,
} from "../helpers/mariadb.js";

const reachable = await mariadbReachable();
const where = new URL(MARIADB_ADMIN_URL).host;
if (!reachable && process.env.CI === "true") {
  throw new Error(
    `MariaDB at ${where} is not reachable and CI=true: start it (.ci/run does) or set TEST_MARIADB_URL`,
  );
}

const PASSWORD = `right-${randomBytes(6).toString("hex")}`;
const WRONG = `wrong-${randomBytes(6).toString("hex")}`;
const LOGIN_HINT =
  "check the user, password and database name in ACCOUNT_SOURCE_URL, and that this user may log in (not locked, its password not expired)";

describe.skipIf(!reachable)(`a refused login to a MariaDB account source (${where})`, () => {
  let database: MariadbTestDatabase;
  const suffix = randomBytes(4).toString("hex");
  const users = { plain: `pst_ok_${suffix}`, locked: `pst_lk_${suffix}`, expired: `pst_ex_${suffix}` };

  beforeAll(async () => {
    database = await createMariadbTestDatabase();
    await database.query("CREATE TABLE customers (id VARCHAR(200))");
    await database.query("INSERT INTO customers VALUES ('acc-1')");
    for (const [kind, user] of Object.entries(users)) {
      const extra = kind === "locked" ? " ACCOUNT LOCK" : kind === "expired" ? " PASSWORD EXPIRE" : "";
      await database.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${PASSWORD}'${extra}`);
      await database.query(`GRANT SELECT ON \`${database.name}\`.customers TO '${user}'@'%'`);
    }
  });

  afterAll(async () => {
    for (const user of Object.values(users)) await database?.query(`DROP USER IF EXISTS '${user}'@'%'`);
    await database?.drop();
  });

  function urlOf(user: string, password: string): string {
    const url = new URL(database.url);
    url.username = user;
    url.password = password;
    return url.toString();
  }

  async function failure(url: string): Promise<{ kind: string; message: string }> {
    const pages = readSourceRows({ url, query: "SELECT id FROM customers", timeoutMs: 5_000, pageSize: 100 });
    return (await pages.next().then(
      () => expect.fail("the source was read"),
      (error: unknown) => error,
    )) as { kind: string; message: string };
  }

  it("reads with the right password (the users are usable)", async () => {
    const pages = readSourceRows({
      url: urlOf(users.plain, PASSWORD),
      query: "SELECT id FROM customers",
      timeoutMs: 5_000,
      pageSize: 100,
    });
    expect((await pages.next()).value).toMatchObject({ rows: [["acc-1"]] });
    await pages.return(undefined);
  });

  it("names a wrong password, a locked account and an expired password as a refused login, without the password", async () => {
    const cases: [url: string, driverSays: RegExp][] = [
      [urlOf(users.plain, WRONG), /\(Access denied for user '.*' \(using password: YES\)\)/],
      [urlOf(users.locked, PASSWORD), /\(Access denied, this account is locked\)/],
      [urlOf(users.expired, PASSWORD), /\(You must SET PASSWORD before executing this statement\)/],
    ];
    for (const [url, driverSays] of cases) {
      const error = await failure(url);
      expect(error.kind).toBe("unreachable");
      expect(error.message).toMatch(/^the account source \(MySQL\/MariaDB at .*\) refused the connection /);
      expect(error.message).toMatch(driverSays);
      expect(error.message.endsWith(LOGIN_HINT)).toBe(true);
      expect(error.message).not.toContain("ACCOUNT_SOURCE_QUERY");
      expect(error.message).not.toContain(PASSWORD);
      expect(error.message).not.toContain(WRONG);
    }
  });
});

if (!reachable) {
  it.skip(`MariaDB at ${where} is not reachable: the MariaDB login tests were not run (start it: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd)`, () => {});
}
