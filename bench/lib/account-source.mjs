// The account source at scale: for each number of source ids, a table of that many ids in the bench
// database is the source, and a fresh child process (children/account-source.mjs) makes the tracked
// set equal to it twice (every id new, then nothing changed), with the image's NODE_OPTIONS. Its
// seconds and peak RSS show whether the reconciliation is set-based and its memory flat in the ids.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { resetAccounts, withClient } from "./database.mjs";

const run = promisify(execFile);
const CHILD = new URL("../children/account-source.mjs", import.meta.url).pathname;
const SOURCE_TABLE = "bench_account_source";

/** [{ sourceIds, peakRssMB, first: { seconds, added }, unchanged: { seconds } }] for each count. */
export async function measureAccountSource({ url, counts, nodeFlags, progress }) {
  const results = [];
  try {
    for (const sourceIds of counts) {
      await resetAccounts(url, []);
      await withClient(url, async (client) => {
        await client.query(`DROP TABLE IF EXISTS ${SOURCE_TABLE}`);
        await client.query(
          `CREATE TABLE ${SOURCE_TABLE} AS
             SELECT 'src-' || lpad(g::text, 8, '0') AS id FROM generate_series(1, $1::int) AS g`,
          [sourceIds],
        );
      });
      const { stdout } = await run(
        process.execPath,
        [...nodeFlags, CHILD, url, url, `SELECT id FROM ${SOURCE_TABLE}`],
        { maxBuffer: 16 * 1024 * 1024 },
      );
      const { peakRssMB, passes } = JSON.parse(stdout.trim().split("\n").at(-1));
      const [first, unchanged] = passes;
      if (first.counts.added !== sourceIds || unchanged.counts.added + unchanged.counts.removed !== 0) {
        throw new Error(`account source of ${sourceIds} ids: ${JSON.stringify(passes)}`);
      }
      results.push({
        sourceIds,
        peakRssMB,
        first: { seconds: first.seconds, added: first.counts.added },
        unchanged: { seconds: unchanged.seconds },
      });
      progress(
        `account source ${sourceIds} ids: first ${first.seconds.toFixed(2)} s, unchanged ${unchanged.seconds.toFixed(2)} s, peak RSS ${peakRssMB.toFixed(1)} MB`,
      );
    }
  } finally {
    await withClient(url, (client) => client.query(`DROP TABLE IF EXISTS ${SOURCE_TABLE}`));
    await resetAccounts(url, []);
  }
  return results;
}
