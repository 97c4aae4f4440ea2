import { createRequire } from "node:module";

// package.json sits one level above both src/ (tests) and dist/ (built code).
const packageJson = createRequire(import.meta.url)("../package.json") as { name: string; version: string };

export const PACKAGE_NAME = packageJson.name;
export const PACKAGE_VERSION = packageJson.version;
