// Whole `plugchat-sync` processes as a user starts them (`node dist/cli/main.js …`, no flags), with
// their wall time and peak resident memory. Shared by the startup and memory figures.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const CLI = resolve("dist/cli/main.js");

/**
 * A place to measure processes in: `timed(args, env)` runs `node --import <preload> ...args` and
 * resolves with { wallMs, peakMB }; `close()` removes the place. The preload writes the process's
 * peak RSS as it exits: Linux's VmHWM, not resourceUsage().maxRSS, which keeps the parent's peak
 * across fork and exec, so that every child of this (larger) bench process would report at least the
 * bench's own size. The preload itself is a few lines: what it adds to the figure is noise.
 */
export function measuringPlace() {
  const dir = mkdtempSync(join(tmpdir(), "plugchat-bench-peak-"));
  const preload = join(dir, "peak-rss.mjs");
  writeFileSync(
    preload,
    `import { readFileSync, writeFileSync } from "node:fs";
process.on("exit", () => {
  const status = (() => { try { return readFileSync("/proc/self/status", "utf8"); } catch { return ""; } })();
  const hwm = /^VmHWM:\\s+(\\d+) kB/m.exec(status)?.[1];
  writeFileSync(process.env.PEAK_RSS_FILE, hwm ?? String(process.resourceUsage().maxRSS));
});
`,
  );
  let measured = 0;
  return {
    async timed(args, env) {
      const file = join(dir, `rss-${measured++}`);
      const started = performance.now();
      await run(process.execPath, ["--import", preload, ...args], { ...env, PEAK_RSS_FILE: file });
      const wallMs = performance.now() - started;
      return { wallMs, peakMB: Number(readFileSync(file, "utf8")) / 1024 };
    },
    close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs a process to its end; rejects with the tail of its stderr if it exits non-zero. */
export function run(command, args, env) {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk) => {
      stderr += chunk;
    });
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0
        ? resolveRun()
        : reject(new Error(`${args.join(" ")} exited ${code}: ${stderr.slice(-500)}`)),
    );
  });
}
