// The V8 flags every plugchat-sync command sets as it starts (src/cli/memory-flags.ts), set in the
// benchmark's own process, which runs syncs in-process: imported before anything else.
import { useMemoryFlags } from "../../dist/cli/memory-flags.js";

useMemoryFlags();
