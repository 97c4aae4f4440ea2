// Runs the server's own tools (initdb, pg_ctl). PostgreSQL refuses to run as root, so under root they
// run as the unprivileged `postgres` user, created when the system has none.
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { UserFacingError } from "../../errors.js";
import { idsAreMapped } from "./id-map.js";

const exec = promisify(execFile);

/** Who the server's processes run as: this process's user, or (under root) the postgres user. */
export interface ServerUser {
  /** Undefined: the current user. */
  ids?: { uid: number; gid: number };
  name: string;
}

const SERVER_USER_NAME = "postgres";

let user: Promise<ServerUser> | undefined;

export function serverUser(): Promise<ServerUser> {
  user ??= findServerUser();
  return user;
}

async function findServerUser(): Promise<ServerUser> {
  if (process.getuid?.() !== 0) return { name: "the current user" };
  const ids = await postgresUserIds();
  if (!(await idsAreMapped(ids)))
    throw new UserFacingError(
      `running as root in a user namespace that does not map the "${SERVER_USER_NAME}" user (uid ${ids.uid}), and PostgreSQL does not run as root: map that user into the namespace, run plugchat-sync as a user other than root, or set DATABASE_URL to a PostgreSQL server of yours`,
    );
  return { ids, name: SERVER_USER_NAME };
}

async function postgresUserIds(): Promise<{ uid: number; gid: number }> {
  const lookUp = async () => ({
    uid: Number((await exec("id", ["-u", SERVER_USER_NAME])).stdout.trim()),
    gid: Number((await exec("id", ["-g", SERVER_USER_NAME])).stdout.trim()),
  });
  try {
    return await lookUp();
  } catch {
    // No such user: create a system user without a home or login, as a PostgreSQL package would.
  }
  try {
    await exec("useradd", [
      "--system",
      "--user-group",
      "--no-create-home",
      "--shell",
      "/usr/sbin/nologin",
      SERVER_USER_NAME,
    ]);
    return await lookUp();
  } catch {
    throw new UserFacingError(
      `PostgreSQL does not run as root and there is no "${SERVER_USER_NAME}" user to run it as (useradd failed): create one with \`useradd --system --user-group ${SERVER_USER_NAME}\`, run plugchat-sync as another user, or set DATABASE_URL to a PostgreSQL server of yours`,
    );
  }
}

interface ToolResult {
  code: number | null;
  output: string;
}

/** Runs a server tool as the server user; its output (stdout and stderr together) is returned, not shown. */
export function runTool(path: string, args: readonly string[], runAs: ServerUser): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, {
      ...(runAs.ids ?? {}),
      // Its own session: a Ctrl-C in the terminal of the command that started the server must not
      // reach the server, which other commands may be using.
      detached: process.platform !== "win32",
      windowsHide: true,
      // The server user may not be able to enter this process's working directory (root's home).
      cwd: runAs.ids ? "/" : undefined,
      stdio: ["ignore", "pipe", "pipe"],
      // English messages, which are read for the errors they report.
      env: { ...withoutPgVariables(process.env), LC_MESSAGES: "C" },
    });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

// PGDATA, PGPORT and the like from the user's environment must not redirect the tools.
function withoutPgVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith("PG")));
}
