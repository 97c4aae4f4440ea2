import { packageRoot } from "./package-root.js";

const { packageJson } = packageRoot();

export const PACKAGE_NAME = packageJson.name;
export const PACKAGE_VERSION = packageJson.version;
