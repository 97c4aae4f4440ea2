// The V8 flags the syncing plugchat-sync commands set as they start (src/cli/memory-flags.ts), set in the
// benchmark's own process, which runs syncs in-process: imported before anything else.
import { useMemoryFlagsFor } from "../../build/cli/memory-flags.js";

// As `sync` runs them.
useMemoryFlagsFor("sync");
