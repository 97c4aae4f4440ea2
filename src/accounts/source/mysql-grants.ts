// Which of a MySQL or MariaDB user's grants (SHOW GRANTS) let it write. Pure.

/** Privileges that change data, schema or the server's files; CREATE … and ALTER … of any kind too. */
const WRITING =
  /^(ALL|ALL PRIVILEGES|INSERT|UPDATE|DELETE|DELETE HISTORY|DROP|INDEX|TRIGGER|EVENT|FILE|SUPER|(CREATE|ALTER)( .*)?)$/;

/**
 * The first grant that lets the user write, as "INSERT on `crm`.*"; undefined when none does.
 * `CREATE TEMPORARY TABLES` writes nothing that outlives the connection, so it does not count.
 */
export function writingGrant(grants: readonly string[]): string | undefined {
  for (const grant of grants) {
    const parsed = /^GRANT\s+(.+?)\s+ON\s+(.+?)\s+TO\s/is.exec(grant.trim());
    if (!parsed) continue; // a role granted (GRANT role TO user), or something else
    const [, privileges = "", on = ""] = parsed;
    for (const privilege of privileges.replace(/\([^)]*\)/g, "").split(",")) {
      const name = privilege.trim().replace(/\s+/g, " ").toUpperCase();
      if (name !== "CREATE TEMPORARY TABLES" && WRITING.test(name)) return `${name} on ${on}`;
    }
  }
  return undefined;
}
