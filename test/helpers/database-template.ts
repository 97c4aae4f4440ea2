// Vitest global setup: one database migrated once per test run, which createMigratedTestDatabase()
// copies (CREATE DATABASE ... TEMPLATE) instead of running every migration again for each test file.
// Named per run, since several runs (other work trees) may share the server; dropped at the end.
// No session stays connected to it: Postgres refuses to copy a database that has one.
import type { TestProject } from "vitest/node";
import { adminQuery, migrateFromScratch, reserveTestDatabase } from "./databases.js";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const template = reserveTestDatabase("template_");
  try {
    await adminQuery(`CREATE DATABASE "${template.name}"`);
    await migrateFromScratch(template.url);
    project.provide("migratedTemplate", template.name);
  } catch (error) {
    // Each test file then migrates its own database, and the tests of migrations say what is wrong.
    process.stdout.write(
      `no migrated template database (${(error as Error).message}): each test database is migrated from scratch\n`,
    );
    project.provide("migratedTemplate", undefined);
  }
  return () => template.drop();
}
