// Reads the parts of a database's `public` schema that prisma/schema.prisma describes, in a form that two
// databases can be compared with toEqual. Left out on purpose, because Prisma's schema language cannot
// express them and they live in the migrations only: CHECK constraints, indexes on expressions, partial
// indexes (WHERE ...), views.
import pg from "pg";

export interface Catalog {
  tables: string[];
  columns: {
    table: string;
    column: string;
    type: string;
    notNull: boolean;
    default: string | null;
    identity: string;
    generated: string;
  }[];
  /** Primary keys, unique constraints, foreign keys, exclusion constraints. */
  constraints: {
    table: string;
    name: string;
    kind: string;
    columns: string[];
    referencedTable: string | null;
    referencedColumns: string[] | null;
    onUpdate: string | null;
    onDelete: string | null;
    deferrable: boolean;
  }[];
  indexes: {
    table: string;
    name: string;
    unique: boolean;
    primary: boolean;
    columns: string[];
    definition: string;
  }[];
  enums: { name: string; labels: string[] }[];
}

const IN_PUBLIC = "n.nspname = 'public' AND c.relname <> '_prisma_migrations'";

export async function readCatalog(databaseUrl: string): Promise<Catalog> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const tables = await client.query<{ table: string }>(`
      SELECT c.relname AS table
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND ${IN_PUBLIC}
      ORDER BY 1`);

    const columns = await client.query<Catalog["columns"][number]>(`
      SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
             a.attnotnull AS "notNull", pg_get_expr(d.adbin, d.adrelid) AS default,
             a.attidentity::text AS identity, a.attgenerated::text AS generated
      FROM pg_attribute a
      JOIN pg_class c ON c.oid = a.attrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE c.relkind IN ('r', 'p') AND ${IN_PUBLIC} AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY 1, 2`);

    const constraints = await client.query<Catalog["constraints"][number]>(`
      SELECT c.relname AS table, con.conname AS name,
             CASE con.contype WHEN 'p' THEN 'primary key' WHEN 'u' THEN 'unique' WHEN 'f' THEN 'foreign key'
                              ELSE 'exclusion' END AS kind,
             ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
                   JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
             ref.relname AS "referencedTable",
             CASE WHEN con.contype = 'f' THEN
               ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
                     JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord)
             END AS "referencedColumns",
             ${referentialAction("con.confupdtype")} AS "onUpdate",
             ${referentialAction("con.confdeltype")} AS "onDelete",
             con.condeferrable AS deferrable
      FROM pg_constraint con
      JOIN pg_class c ON c.oid = con.conrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_class ref ON ref.oid = con.confrelid
      WHERE con.contype IN ('p', 'u', 'f', 'x') AND ${IN_PUBLIC}
      ORDER BY 1, 2`);

    const indexes = await client.query<Catalog["indexes"][number]>(`
      SELECT c.relname AS table, i.relname AS name, ix.indisunique AS unique, ix.indisprimary AS primary,
             ARRAY(SELECT a.attname::text FROM unnest(ix.indkey) WITH ORDINALITY k(attnum, ord)
                   JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
             pg_get_indexdef(ix.indexrelid) AS definition
      FROM pg_index ix
      JOIN pg_class i ON i.oid = ix.indexrelid
      JOIN pg_class c ON c.oid = ix.indrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${IN_PUBLIC} AND ix.indexprs IS NULL AND ix.indpred IS NULL
      ORDER BY 1, 2`);

    const enums = await client.query<Catalog["enums"][number]>(`
      SELECT t.typname AS name,
             ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) AS labels
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE t.typtype = 'e' AND n.nspname = 'public'
      ORDER BY 1`);

    return {
      tables: tables.rows.map((row) => row.table),
      // Prisma treats any nextval() default as autoincrement, whatever the sequence is called (a renamed
      // table keeps its old sequence name).
      columns: columns.rows.map((row) => ({
        ...row,
        default: row.default?.replace(/^nextval\('[^']+'::regclass\)$/, "nextval(<sequence>)") ?? null,
      })),
      constraints: constraints.rows,
      indexes: indexes.rows,
      enums: enums.rows,
    };
  } finally {
    await client.end();
  }
}

function referentialAction(column: string): string {
  return `CASE ${column} WHEN 'a' THEN 'no action' WHEN 'r' THEN 'restrict' WHEN 'c' THEN 'cascade'
                        WHEN 'n' THEN 'set null' WHEN 'd' THEN 'set default' END`;
}
