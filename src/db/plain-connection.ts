// One plain node-postgres connection for a short command (`report`, `accounts list`): no Prisma
// client, no pool. Prisma's runtime and its first query cost a command about 1 s and 100 MB (bench:
// startup), which a person typing a command, a cron job or a probe should not wait for. It reads
// through the same SQL functions (src/db/sql) as the Prisma client, by their tagged templates.
import type pg from "pg";
import { connect, prismaSchemaName, quoteIdentifier } from "./migrations/database.js";
import type { Reader } from "./sql/index.js";

/**
 * Runs `work` on one connection to `databaseUrl` (its `?schema=` honoured, as the Prisma client does),
 * and always closes it. A connection that fails ends in one line saying why.
 */
export async function withPlainConnection<T>(
  databaseUrl: string,
  work: (db: Reader) => Promise<T>,
): Promise<T> {
  const client = await connect(databaseUrl);
  try {
    const schema = prismaSchemaName(databaseUrl);
    if (schema.explicit) await client.query(`SET search_path = ${quoteIdentifier(schema.name)}`);
    return await work(plainReader(client));
  } finally {
    await client.end();
  }
}

/** The tagged-template reads of the SQL functions, on a node-postgres client: values go as $1, $2... */
function plainReader(client: pg.Client): Reader {
  const queryRaw = async (strings: TemplateStringsArray, ...values: unknown[]) => {
    if (values.some(isSqlFragment)) {
      throw new TypeError("a plain connection runs whole statements only, not Prisma.sql fragments");
    }
    const text = strings.reduce((sql, part, index) => `${sql}$${index}${part}`);
    return (await client.query(text, values)).rows;
  };
  return { $queryRaw: queryRaw as Reader["$queryRaw"] };
}

function isSqlFragment(value: unknown): boolean {
  return typeof value === "object" && value !== null && "strings" in value && "values" in value;
}
