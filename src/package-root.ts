// The package's root directory (where package.json and prisma/ are), found from this module's own
// location: src/ when tests run it, build/ once compiled, and a chunk of the bundle in dist/cli/chunks/
// as shipped. Each sits at its own depth, so the root is the nearest directory above that holds
// this package's package.json, not a fixed number of `..`.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

interface PackageJson {
  name: string;
  version: string;
}

interface PackageRoot {
  dir: string;
  packageJson: PackageJson;
}

const PACKAGE_NAME = "plugchat-sync";

let found: PackageRoot | undefined;

/** The root directory and its package.json, read once. */
export function packageRoot(): PackageRoot {
  found ??= findPackageRoot(dirname(fileURLToPath(import.meta.url)));
  return found;
}

function findPackageRoot(start: string): PackageRoot {
  for (let dir = start; ; dir = dirname(dir)) {
    const packageJson = readPackageJson(join(dir, "package.json"));
    if (packageJson?.name === PACKAGE_NAME) return { dir, packageJson };
    if (dirname(dir) === dir) break;
  }
  // Only a broken installation gets here (the code copied without its package.json).
  throw new Error(`no package.json of ${PACKAGE_NAME} above ${start}: reinstall plugchat-sync`);
}

function readPackageJson(path: string): PackageJson | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as PackageJson;
  } catch {
    return undefined;
  }
}
