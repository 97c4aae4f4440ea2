// prisma/schema.prisma and prisma/migrations must describe the same database: the Prisma client is
// generated from the first, the database is built from the second. Database A is built from the schema
// (SQL written by Prisma's own schema engine), database B from the migrations; their catalogs must match.
import { readFile } from "node:fs/promises";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createMigratedTestDatabase, createTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { sqlForSchema } from "../helpers/schema-engine.js";
import { readCatalog } from "./catalog.js";

const SCHEMA_PATH = new URL("../../prisma/schema.prisma", import.meta.url);

let fromSchema: TestDatabase;
let fromMigrations: TestDatabase;

beforeAll(async () => {
  const sql = await sqlForSchema(await readFile(SCHEMA_PATH, "utf8"));
  fromSchema = await createTestDatabase();
  const client = new pg.Client({ connectionString: fromSchema.url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
  fromMigrations = await createMigratedTestDatabase();
});

afterAll(async () => {
  await fromSchema?.drop();
  await fromMigrations?.drop();
});

it("the migrations build the database that schema.prisma describes", async () => {
  const expected = await readCatalog(fromSchema.url);
  const actual = await readCatalog(fromMigrations.url);

  // Guard against comparing two empty catalogs.
  expect(expected.tables).toEqual(expect.arrayContaining(["accounts", "sync_runs", "account_drift"]));
  expect(expected.columns.length).toBeGreaterThan(expected.tables.length);

  // One assertion per part, so a failure points at what differs.
  expect(actual.tables, "tables").toEqual(expected.tables);
  expect(actual.columns, "columns").toEqual(expected.columns);
  expect(actual.constraints, "primary, unique and foreign keys").toEqual(expected.constraints);
  expect(actual.indexes, "indexes").toEqual(expected.indexes);
  expect(actual.enums, "enums").toEqual(expected.enums);
});
