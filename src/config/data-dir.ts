import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import { nonBlank } from "./environment.js";

export interface DataDirPlatform {
  os: NodeJS.Platform;
  uid: number | undefined;
  home: string;
}

export function thisPlatform(): DataDirPlatform {
  return { os: process.platform, uid: process.getuid?.(), home: homedir() };
}

/**
 * Where the embedded server keeps its data when PLUGCHAT_SYNC_DATA_DIR is unset. For root (containers,
 * CI) /var/lib/plugchat-sync: the server runs as the `postgres` user, which cannot enter root's home
 * (mode 0700). Otherwise the per-user data directory of the platform: $XDG_DATA_HOME or
 * ~/.local/share on Linux and the BSDs, ~/Library/Application Support on macOS, %LOCALAPPDATA% on
 * Windows.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv, platform: DataDirPlatform): string {
  const app = "plugchat-sync";
  if (platform.os === "win32") {
    const local = nonBlank(env.LOCALAPPDATA);
    return join(local ?? join(platform.home, "AppData", "Local"), app);
  }
  if (platform.uid === 0) return join("/var/lib", app);
  if (platform.os === "darwin") return join(platform.home, "Library", "Application Support", app);
  const xdg = nonBlank(env.XDG_DATA_HOME);
  // The XDG spec: a relative $XDG_DATA_HOME is invalid and must be ignored.
  return join(xdg && isAbsolute(xdg) ? xdg : join(platform.home, ".local", "share"), app);
}
