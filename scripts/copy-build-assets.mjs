#!/usr/bin/env node
// Copies into dist/ the files of src/ that tsc does not emit: the Prisma query compiler's WebAssembly,
// which the generated client reads beside itself (scripts/prisma-generate.mjs).
import { cpSync } from "node:fs";

const FROM = new URL("../src/generated/prisma/internal/", import.meta.url);
const TO = new URL("../dist/generated/prisma/internal/", import.meta.url);
cpSync(FROM, TO, { recursive: true, filter: (path) => !path.endsWith(".ts") });
