// Prisma's schema engine compiled to WebAssembly (@prisma/schema-engine-wasm), for tests: it turns
// prisma/schema.prisma into the SQL that `prisma migrate diff` would write, with no native engine.
// On Node 20 the package cannot be imported as it is (that needs --experimental-wasm-modules), so the
// .wasm file is instantiated by hand and handed to the package's JavaScript glue.
import { readdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import { bindMigrationAwareSqlAdapterFactory } from "@prisma/driver-adapter-utils";
import type {
  DiagnoseMigrationHistoryOutput,
  SchemaEngine,
} from "@prisma/schema-engine-wasm/schema_engine_bg";
import pg from "pg";

type EngineGlue = typeof import("@prisma/schema-engine-wasm/schema_engine_bg");

/** The slice of the global WebAssembly API used here (lib ES2023 has no WebAssembly types). */
interface WasmApi {
  instantiate(
    bytes: Uint8Array,
    imports: Record<string, unknown>,
  ): Promise<{ instance: { exports: Record<string, unknown> } }>;
}

let glue: Promise<EngineGlue> | undefined;

/** Loads the engine once per process (its glue module keeps the instance in a module variable). */
function loadEngine(): Promise<EngineGlue> {
  glue ??= (async () => {
    const gluePath = createRequire(import.meta.url).resolve("@prisma/schema-engine-wasm/schema_engine_bg");
    const module: EngineGlue = await import("@prisma/schema-engine-wasm/schema_engine_bg");
    const bytes = await readFile(join(dirname(gluePath), "schema_engine_bg.wasm"));
    const { WebAssembly } = globalThis as unknown as { WebAssembly: WasmApi };
    const { instance } = await WebAssembly.instantiate(bytes, { "./schema_engine_bg.js": module });
    module.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as (() => void) | undefined)?.();
    return module;
  })();
  return glue;
}

const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const NO_FILTERS = { externalTables: [], externalEnums: [] };

/**
 * Runs `work` with an engine connected (through Prisma's pg adapter) to `databaseUrl`, then frees the
 * engine and ends the adapter's pool, so nothing keeps the process alive.
 */
async function withEngine<T>(
  schema: string,
  databaseUrl: string,
  work: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  const glue = await loadEngine();
  const pool = new pg.Pool({ connectionString: databaseUrl });
  try {
    const engine = await glue.SchemaEngine.new(
      { datamodels: [["schema.prisma", schema]] },
      () => {},
      bindMigrationAwareSqlAdapterFactory(new PrismaPg(pool)),
    );
    try {
      return await work(engine);
    } finally {
      engine.free();
    }
  } finally {
    await pool.end();
  }
}

/**
 * The SQL that creates `schema` (a schema.prisma text) from an empty database: the engine's diff from
 * empty to the datamodel, without the leading `CREATE SCHEMA IF NOT EXISTS "public";` that
 * `prisma migrate dev` also leaves out. Touches no database (the engine still wants an adapter).
 */
export async function sqlForSchema(schema: string): Promise<string> {
  const result = await withEngine(schema, ADMIN_URL, (engine) =>
    engine.diff({
      from: { tag: "empty" },
      to: { tag: "schemaDatamodel", files: [{ path: "schema.prisma", content: schema }] },
      script: true,
      exitCode: null,
      filters: NO_FILTERS,
    }),
  );
  if (result.stdout === null) throw new Error("the schema engine returned no script");
  return result.stdout.replace(/^-- CreateSchema\nCREATE SCHEMA IF NOT EXISTS "public";\n+/, "");
}

/**
 * What Prisma's engine thinks of the migration history of `databaseUrl` compared with `migrationsDir`
 * (the core of `prisma migrate status`): edited and failed migrations, and whether they are in step.
 * The folder is read here the way the Prisma CLI reads it, independently of the code under test.
 */
export async function diagnoseMigrationHistory(
  databaseUrl: string,
  migrationsDir: string,
): Promise<DiagnoseMigrationHistoryOutput> {
  const lockfile = await readFile(join(migrationsDir, "migration_lock.toml"), "utf8").catch(() => null);
  const folders = (await readdir(migrationsDir, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort((a, b) => a.localeCompare(b));
  const migrationDirectories = await Promise.all(
    folders.map(async (name) => {
      const content = await readFile(join(migrationsDir, name, "migration.sql"), "utf8").then(
        (value) => ({ tag: "ok" as const, value }),
        (err: Error) => ({ tag: "error" as const, value: err.message }),
      );
      return { path: name, migrationFile: { path: "migration.sql", content } };
    }),
  );
  return withEngine("", databaseUrl, (engine) =>
    engine.diagnoseMigrationHistory({
      migrationsList: {
        baseDir: migrationsDir,
        lockfile: { path: "migration_lock.toml", content: lockfile },
        shadowDbInitScript: "",
        migrationDirectories,
      },
      optInToShadowDatabase: false,
      filters: NO_FILTERS,
    }),
  );
}
