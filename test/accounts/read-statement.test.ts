// The account source's statement check, on text alone: what it lets reach the database and what it
// refuses, for PostgreSQL and for MySQL/MariaDB (which read comments, quotes and backslashes apart).
import { describe, expect, it } from "vitest";
import { writingGrant } from "../../src/accounts/source/mysql-grants.js";
import { readStatementRefusal } from "../../src/accounts/source/read-statement.js";

const BOTH = ["postgres", "mysql"] as const;

describe("readStatementRefusal accepts one statement that only reads", () => {
  it.each([
    "SELECT plugchat_account_id FROM customers",
    "select id from customers where deleted_at is null",
    "   \n\t SELECT id FROM customers",
    "SELECT id FROM customers;",
    "SELECT id FROM customers ;  \n",
    "SELECT id FROM customers; -- trailing comment",
    "((SELECT id FROM customers))",
    "(SELECT id FROM a) UNION (SELECT id FROM b)",
    "WITH active AS (SELECT id FROM customers WHERE active) SELECT id FROM active",
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3) SELECT n FROM t",
    "TABLE customers",
    "VALUES ('acc-1'), ('acc-2')",
    "(VALUES ('acc-1'))",
    "SELECT id FROM customers WHERE note <> 'DROP TABLE customers; DELETE FROM x'",
    "SELECT id FROM customers WHERE note = 'it''s; INSERT INTO x'",
    "SELECT update_at, deleted, inserted_by, into_x FROM customers",
    "SELECT id -- DELETE FROM customers\nFROM customers",
    "SELECT id /* ; DROP TABLE customers; */ FROM customers",
    "SELECT id FROM customers ORDER BY id FOR", // a syntax error for the server, not a write
    "SELECT substring(id FROM 1 FOR 3) FROM customers",
    "SELECT id FROM customers WHERE id LIKE 'a\\_%'",
    "SELECT id FROM customers WHERE created_at > now() - interval '1 day' LIMIT 10",
  ])("%j", (sql) => {
    for (const dialect of BOTH) expect(readStatementRefusal(sql, dialect), dialect).toBeUndefined();
  });

  it.each([
    "SELECT id FROM customers WHERE note = $$DROP TABLE x; $q$ ' $$",
    "SELECT id FROM customers WHERE note = $tag$'; DELETE FROM x; --$tag$",
    'SELECT "into", "delete" FROM customers',
    "SELECT id FROM customers /* a /* nested */ DELETE comment */",
    "SELECT E'it\\'s; DELETE FROM x' AS id",
    "SELECT id FROM customers WHERE flags # 1 = 0",
    "SELECT 1--1\nFROM customers",
  ])("on PostgreSQL: %j", (sql) => {
    expect(readStatementRefusal(sql, "postgres")).toBeUndefined();
  });

  it.each([
    "SELECT `into`, `delete` FROM customers",
    "SELECT id FROM customers # DELETE FROM customers",
    'SELECT id FROM customers WHERE note = "DROP TABLE x; --"',
    "SELECT INSERT(id, 1, 0, 'x') FROM customers",
    "SELECT CAST(id AS CHAR CHARACTER SET utf8mb4) FROM customers",
    "SELECT REPLACE(id, ' ', '') FROM customers",
  ])("on MySQL/MariaDB: %j", (sql) => {
    expect(readStatementRefusal(sql, "mysql")).toBeUndefined();
  });
});

describe("readStatementRefusal refuses anything else, saying why", () => {
  it.each([
    ["DROP TABLE canary", "it starts with DROP"],
    ["TRUNCATE canary", "it starts with TRUNCATE"],
    ["CREATE TABLE stolen AS SELECT * FROM customers", "it starts with CREATE"],
    ["ALTER TABLE customers ADD x int", "it starts with ALTER"],
    ["DELETE FROM customers", "it starts with DELETE"],
    ["UPDATE customers SET id = 'x'", "it starts with UPDATE"],
    ["INSERT INTO customers VALUES (1)", "it starts with INSERT"],
    ["CALL purge()", "it starts with CALL"],
    ["SET STATEMENT max_statement_time=0 FOR SELECT SLEEP(15)", "it starts with SET"],
    ["COPY customers TO '/tmp/x'", "it starts with COPY"],
    ["DO $$ BEGIN DELETE FROM x; END $$", "it starts with DO"],
    ["EXECUTE purge", "it starts with EXECUTE"],
    ["LOCK TABLE customers", "it starts with LOCK"],
    ["EXPLAIN ANALYZE DELETE FROM customers", "it starts with EXPLAIN"],
    ["GRANT ALL ON customers TO public", "it starts with GRANT"],
    ["(DELETE FROM customers)", "it starts with DELETE"],
    ["'SELECT'", "it starts with a string"],
    ["", "it is empty"],
    ["  ;  ", "it is empty"],
    ["-- only a comment", "it is empty"],
    ["SELECT 1; DROP TABLE canary", "it is more than one statement"],
    ["SELECT 1;;", "it is more than one statement"],
    ["SELECT id FROM customers; SELECT 1", "it is more than one statement"],
    ["SELECT id INTO stolen FROM customers", "it writes its result somewhere (INTO)"],
    ["SELECT id FROM customers INTO OUTFILE '/tmp/x'", "it writes its result somewhere (INTO)"],
    ["SELECT id FROM customers INTO DUMPFILE '/tmp/x'", "it writes its result somewhere (INTO)"],
    ["SELECT id INTO @x FROM customers", "it writes its result somewhere (INTO)"],
    ["SELECT 1into stolen", "it writes its result somewhere (INTO)"],
    ["SELECT id FROM customers FOR UPDATE", "it locks rows (FOR UPDATE …)"],
    ["SELECT id FROM customers FOR SHARE", "it locks rows (FOR SHARE …)"],
    ["SELECT id FROM customers FOR NO KEY UPDATE", "it locks rows (FOR NO …)"],
    ["SELECT id FROM customers LOCK IN SHARE MODE", "it locks rows (LOCK IN SHARE MODE)"],
    ["WITH d AS (DELETE FROM canary RETURNING id) SELECT id FROM d", "it contains DELETE"],
    ["WITH u AS (UPDATE canary SET id = 0 RETURNING id) SELECT id FROM u", "it contains UPDATE"],
    ["WITH i AS (INSERT INTO canary VALUES (1) RETURNING id) SELECT id FROM i", "it contains INSERT"],
    ["WITH s AS (SELECT 1) DELETE FROM canary", "it contains DELETE"],
    ["SELECT 'unterminated", "it has an unterminated string, quoted name or comment"],
    ["SELECT 1 /* unterminated", "it has an unterminated string, quoted name or comment"],
  ])("%j: %s", (sql, reason) => {
    for (const dialect of BOTH) expect(readStatementRefusal(sql, dialect), dialect).toBe(reason);
  });

  it.each([
    "SELECT dblink_exec('dbname=crm', 'DELETE FROM canary')",
    "SELECT * FROM dblink('dbname=crm', 'DELETE FROM canary RETURNING id') AS t(id int)",
    "SELECT public.DBLINK_EXEC ('dbname=crm', 'DELETE FROM canary')",
    "SELECT \"dblink_exec\"('dbname=crm', 'DELETE FROM canary')",
    "SELECT dblink_send_query('c', 'DELETE FROM canary')",
    "SELECT lo_export(16384, '/tmp/x')",
    "SELECT lo_import('/etc/passwd')",
    "SELECT pg_file_write('/tmp/x', 'data', false)",
    "SELECT pg_write_file('/tmp/x', 'data')",
    "SELECT set_config('statement_timeout', '0', false)",
    "SELECT query_to_xml('SELECT dblink_exec(''dbname=crm'', ''DELETE FROM canary'')', true, false, '')",
    "SELECT ts_stat('SELECT 1')",
    "SELECT id /* hidden */ FROM customers, dblink_exec /* spaced */ ('x', 'DELETE FROM canary')",
  ])("a function that writes where the read-only transaction cannot see: %j", (sql) => {
    for (const dialect of BOTH)
      expect(readStatementRefusal(sql, dialect), dialect).toMatch(
        /^it calls [\w".]+\(\), which can write outside the read-only transaction$/i,
      );
  });

  it.each([
    // PostgreSQL nests block comments; a lexer that did not would see `SELECT 1` here.
    ["/* a /* nested */ SELECT 1 */ DELETE FROM canary", "it starts with DELETE"],
    // `#` is an operator in PostgreSQL, not a comment.
    ["SELECT 1 # 2, dblink_exec('x', 'DELETE FROM canary')", "it calls dblink_exec()"],
    // `--` always starts a comment in PostgreSQL; `$$` quotes text, so `--` in it is not one.
    ["SELECT $$ -- $$, dblink_exec('x', 'y')", "it calls dblink_exec()"],
    // A U&"…" name can spell any function with escapes.
    ["SELECT U&\"d\\0062link_exec\"('x', 'y')", 'it has a U&"…" name'],
    // E'…' escapes with a backslash whatever standard_conforming_strings says.
    ["SELECT E'\\'', dblink_exec('x', 'y') --'", "it calls dblink_exec()"],
    ["SELECT $tag$ unterminated", "it has an unterminated string"],
  ])("on PostgreSQL: %j", (sql, reason) => {
    expect(readStatementRefusal(sql, "postgres")).toMatch(new RegExp(`^${literal(reason)}`));
  });

  it.each([
    // Executable comments run as code in MySQL and MariaDB.
    ["/*!40101 DROP TABLE canary */", "it has a MySQL executable comment (/*! … */)"],
    ["SELECT id FROM customers /*!50000 INTO OUTFILE '/tmp/x' */", "it has a MySQL executable comment"],
    ["SELECT 1 /*M!100100 ; DROP TABLE canary */", "it has a MySQL executable comment"],
    ["SELECT /*+ MAX_EXECUTION_TIME(0) */ SLEEP(100)", "it has an optimizer hint (/*+ … */)"],
    // MySQL does not nest block comments: the first */ ends this one.
    ["SELECT 1 /* /* */ ; DROP TABLE canary; /* */", "it is more than one statement"],
    // `--` needs a space after it in MySQL: `1--1 INTO …` is 1 - -1, then INTO.
    ["SELECT 1--1 INTO OUTFILE '/tmp/x'", "it writes its result somewhere (INTO)"],
    // Backslash escapes (the default, unless NO_BACKSLASH_ESCAPES): the quote does not end the string
    // here, but it does in the other reading; both readings must pass.
    ["SELECT 'a\\'; DROP TABLE canary; -- '", "it is more than one statement"],
    ["SELECT 'a\\' INTO OUTFILE '/tmp/x' -- '", "it writes its result somewhere (INTO)"],
    ['SELECT "a\\" INTO OUTFILE \'/tmp/x\' -- "', "it writes its result somewhere (INTO)"],
    ["SELECT `unterminated", "it has an unterminated string"],
  ])("on MySQL/MariaDB: %j", (sql, reason) => {
    expect(readStatementRefusal(sql, "mysql")).toMatch(new RegExp(`^${literal(reason)}`));
  });
});

describe("writingGrant (SHOW GRANTS of MySQL/MariaDB)", () => {
  it("names the first grant that writes", () => {
    expect(writingGrant(["GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION"])).toBe(
      "ALL PRIVILEGES on *.*",
    );
    expect(
      writingGrant(["GRANT USAGE ON *.* TO `reader`@`%`", "GRANT SELECT, INSERT ON `crm`.* TO `reader`@`%`"]),
    ).toBe("INSERT on `crm`.*");
    expect(writingGrant(["GRANT SELECT, UPDATE (`name`, `email`) ON `crm`.`customers` TO `u`@`%`"])).toBe(
      "UPDATE on `crm`.`customers`",
    );
    expect(writingGrant(["GRANT CREATE ROUTINE ON `crm`.* TO `u`@`%`"])).toBe("CREATE ROUTINE on `crm`.*");
    expect(writingGrant(["GRANT FILE ON *.* TO `u`@`%`"])).toBe("FILE on *.*");
  });

  it("finds none for a user that may only read", () => {
    expect(
      writingGrant([
        "GRANT USAGE ON *.* TO `reader`@`%` IDENTIFIED BY PASSWORD '*ABC'",
        "GRANT SELECT, SHOW VIEW, CREATE TEMPORARY TABLES ON `crm`.* TO `reader`@`%`",
        "GRANT SELECT (`id`, `insert_date`) ON `crm`.`customers` TO `reader`@`%`",
        "GRANT `reporting` TO `reader`@`%`",
      ]),
    ).toBeUndefined();
  });
});

function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
