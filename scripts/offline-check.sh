#!/usr/bin/env bash
# Proof that a machine with Node.js only needs nothing else: inside a network namespace of its own
# (`unshare -n`, loopback up) neither this machine's PostgreSQL (5432) nor its Redis (6379) can be
# reached over TCP, and nothing can be downloaded. There, with DATABASE_URL unset and a fresh
# PLUGCHAT_SYNC_DATA_DIR, the demo runs on the embedded PostgreSQL, and `db url`/`db status` see it.
#
# Needs root (for unshare) and `npm ci` done beforehand, outside: npm cannot reach the registry inside.
#     sudo bash scripts/offline-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "offline-check: needs root, for unshare -n" >&2
  exit 2
fi
[ -f dist/cli/main.js ] || npm run build >/dev/null

work="$(mktemp -d)"
# mktemp makes 0700: under root the embedded server runs as `postgres`, which must pass through.
chmod 0711 "$work"
trap 'rm -rf "$work"' EXIT

unshare -n env -u DATABASE_URL -u REDIS_URL -u PLUGCHAT_TOKEN -u PLUGCHAT_TOKEN_FILE \
  PLUGCHAT_SYNC_DATA_DIR="$work/data" LOG_LEVEL=warn bash -euo pipefail -c '
    ip link set lo up
    fail() { echo "offline-check: FAILED: $*" >&2; exit 1; }
    cli() { node dist/cli/main.js "$@"; }

    # The machine'"'"'s servers are out of reach here: this is a machine with Node.js only.
    if (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then fail "PostgreSQL at 127.0.0.1:5432 answers inside the namespace"; fi
    if (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then fail "Redis at 127.0.0.1:6379 answers inside the namespace"; fi
    echo "offline-check: no PostgreSQL or Redis reachable; DATABASE_URL unset; data in $PLUGCHAT_SYNC_DATA_DIR"

    cli demo > "$PLUGCHAT_SYNC_DATA_DIR.demo.out" 2> "$PLUGCHAT_SYNC_DATA_DIR.demo.err" \
      || { cat "$PLUGCHAT_SYNC_DATA_DIR.demo.err" >&2; fail "npm run demo"; }
    grep -q "Second sync: run #2 succeeded, 5 drift events, 1 mismatch resolved" "$PLUGCHAT_SYNC_DATA_DIR.demo.out" \
      || { cat "$PLUGCHAT_SYNC_DATA_DIR.demo.out" >&2; fail "the demo did not show its 5 drift events and the mismatch resolved"; }
    grep -q "First sync: run #1 succeeded, 30 baselines stored, no drift yet; 1 disagreeing with your records (acc-00025 externalId" "$PLUGCHAT_SYNC_DATA_DIR.demo.out" \
      || { cat "$PLUGCHAT_SYNC_DATA_DIR.demo.out" >&2; fail "the demo did not show the mismatch found"; }
    grep -q "started the embedded PostgreSQL (data in $PLUGCHAT_SYNC_DATA_DIR)" "$PLUGCHAT_SYNC_DATA_DIR.demo.err" \
      || fail "the demo did not say that it started the embedded PostgreSQL"
    echo "offline-check: demo ran on the embedded PostgreSQL"

    cli db status | grep -q "^embedded PostgreSQL: not running" || fail "the server outlived the demo"
    cli db start > /dev/null 2>&1 || fail "db start"
    url="$(cli db url)"
    case "$url" in postgresql://postgres:*@127.0.0.1:*/plugchat_sync) ;; *) fail "db url printed \"${url%%:*}:...\"" ;; esac
    cli db status | grep -q "^embedded PostgreSQL: running" || fail "db status does not say running after db start"
    node --input-type=module -e "
      import pg from \"pg\";
      const client = new pg.Client({ connectionString: process.argv[1].replace(/plugchat_sync\$/, \"plugchat_sync_demo\") });
      await client.connect();
      const { rows } = await client.query(\"SELECT count(*)::int AS n FROM account_drift\");
      await client.end();
      if (rows[0].n !== 5) { console.error(\"offline-check: FAILED: \" + rows[0].n + \" drift rows in plugchat_sync_demo, not 5\"); process.exit(1); }
    " "$url"
    echo "offline-check: db start/url/status: the demo data is there for psql"
    cli db stop | grep -q "^stopped the embedded PostgreSQL" || fail "db stop"
    cli db status | grep -q "^embedded PostgreSQL: not running" || fail "db status after db stop"

    # The scheduled worker on the same embedded server: its queues in PostgreSQL (no REDIS_URL).
    # Two workers on a 5-second schedule, and a manual run with trigger --wait, sync every account.
    log="$PLUGCHAT_SYNC_DATA_DIR.worker"
    export PLUGCHAT_TOKEN=simulator-token PLUGCHAT_BASE_URL=http://127.0.0.1:4599 SYNC_BATCH_SIZE=50
    node dist/cli/main.js simulator --accounts 300 --port 4599 --ids-file "$log.ids" > "$log.sim" 2>&1 &
    sim=$!
    for _ in $(seq 1 100); do [ -s "$log.ids" ] && break; sleep 0.1; done
    cli accounts import "$log.ids" > /dev/null 2>&1 || fail "accounts import"
    SYNC_CRON="*/5 * * * * *" LOG_LEVEL=info node dist/cli/main.js worker > /dev/null 2> "$log.1" &
    w1=$!
    SYNC_CRON="*/5 * * * * *" LOG_LEVEL=info node dist/cli/main.js worker > /dev/null 2> "$log.2" &
    w2=$!
    for _ in $(seq 1 150); do
      grep -q "worker ready" "$log.1" && grep -q "worker ready" "$log.2" && break
      sleep 0.2
    done
    grep -q "\"queues\":\"PostgreSQL at 127.0.0.1:" "$log.1" || { cat "$log.1" >&2; fail "the worker did not start on the PostgreSQL queues"; }
    # METRICS_PORT unset, as a new user leaves it: the second worker finds 9464 taken and takes a free port.
    cat "$log.1" "$log.2" | grep -q "port 9464 is in use (another worker of this machine?)" ||
      fail "the second worker did not take a free port when 9464 was taken"
    # A scheduled run may be going: trigger --wait starts the manual run after it.
    cli trigger --wait --timeout 2m > "$log.trigger" 2>&1 || { cat "$log.trigger" >&2; fail "trigger --wait"; }
    synced="$(node --input-type=module -e "
      import pg from \"pg\";
      const client = new pg.Client({ connectionString: process.argv[1] });
      await client.connect();
      const { rows } = await client.query(\"SELECT count(*)::int AS n FROM accounts WHERE tracked AND last_status = \x27ok\x27\");
      await client.end();
      console.log(rows[0].n);
    " "$(cli db url)")"
    kill -TERM "$w1" "$w2"
    wait "$w1" || { tail -5 "$log.1" >&2; fail "worker 1 did not exit 0 on SIGTERM"; }
    wait "$w2" || fail "worker 2 did not exit 0 on SIGTERM"
    kill "$sim"
    [ "$synced" = 300 ] || fail "$synced of 300 accounts synced by the workers"
    echo "offline-check: two workers and trigger --wait synced all 300 accounts on the embedded PostgreSQL"
    echo "offline-check: passed"
  '
