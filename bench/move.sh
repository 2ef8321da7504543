#!/usr/bin/env bash
# `migrate-cli move` against pgloader on the same SQLite file: rows per
# second and peak memory (GNU time's maximum resident set size), beside the
# floor: PostgreSQL's own COPY of the same rows pre-rendered. Needs
# PostgreSQL (a role that may create databases, over the local socket),
# sqlite3, pgloader (Debian's package) and /usr/bin/time. Writes nothing in
# the repository; prints a Markdown table for BENCHMARKS.md.
#
#   bash bench/move.sh [ROWS]      # default 1000000
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-1000000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo build -q --release -p migrate-cli
cli="$PWD/target/release/migrate-cli"
db="$work/app.db"

# The example app's schema, filled: users, sessions and answer events,
# most rows in answer_events.
"$cli" -d "$db" --dir examples/flashmath/migrations up >/dev/null 2>&1
sqlite3 "$db" <<SQL
PRAGMA foreign_keys = off;
DROP TRIGGER IF EXISTS answer_events_mastery;
BEGIN;
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 1000)
INSERT INTO users (id, email, display_name) SELECT x, 'user' || x || '@example.com', 'User ' || x FROM n;
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 10000)
INSERT INTO sessions (id, user_id, operation) SELECT x, 1 + x % 1000, 'mul' FROM n;
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < $rows)
INSERT INTO answer_events (session_id, user_id, operation, fact, correct, response_ms)
  SELECT 1 + x % 10000, 1 + x % 1000, 'mul', (x % 12) || 'x' || (x % 9), x % 3 <> 0, 300 + x % 5000 FROM n;
COMMIT;
SQL
count=$(sqlite3 "$db" "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM sessions) + (SELECT count(*) FROM answer_events)")
size=$(du -m "$db" | cut -f1)

pg() { runuser -u postgres -- psql -q -c "$1" >/dev/null 2>&1 || psql -q -d postgres -c "$1" >/dev/null; }
measure() { # name, command...: seconds and peak KiB
    local name="$1"; shift
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/$name.out" 2>&1 || { cat "$work/$name.out"; exit 1; }
    read -r secs kib <"$work/time"
    echo "$secs $kib"
}
user="$(id -un)"
pg "DROP DATABASE IF EXISTS move_bench_ours WITH (FORCE)"; pg "CREATE DATABASE move_bench_ours OWNER \"$user\""
pg "DROP DATABASE IF EXISTS move_bench_pgloader WITH (FORCE)"; pg "CREATE DATABASE move_bench_pgloader OWNER \"$user\""
read -r ours_s ours_k < <(measure ours "$cli" -d "$db" move --to "postgresql:///move_bench_ours?host=/var/run/postgresql&user=$user")
# pgloader, when installed (Debian's package); without it its row says so.
if command -v pgloader >/dev/null; then
    read -r pgl_s pgl_k < <(measure pgloader pgloader --quiet "sqlite://$db" "postgresql:///move_bench_pgloader?host=/var/run/postgresql&user=$user")
else
    echo "note: pgloader is not installed; its row is left out" >&2
    pgl_s=""
fi
# The floor: PostgreSQL's own COPY of the same rows, pre-rendered in its
# text format (taken from what the move wrote), into the same schema,
# through psql's \copy in one transaction. Only the loading is timed.
pg "DROP DATABASE IF EXISTS move_bench_floor WITH (FORCE)"; pg "CREATE DATABASE move_bench_floor OWNER \"$user\""
# The tables alone first (as the move makes them); the keys and indexes
# are built after the load, timed with it, as the move builds them.
pg_dump --schema-only --no-owner --section=pre-data -d move_bench_ours | psql -q -d move_bench_floor >/dev/null
pg_dump --schema-only --no-owner --section=post-data -d move_bench_ours >"$work/post.sql"
for t in users sessions answer_events; do
    psql -q -d move_bench_ours -c "\\copy $t TO '$work/$t.copy'"
done
cat >"$work/floor.sql" <<SQL
BEGIN;
\\copy users FROM '$work/users.copy'
\\copy sessions FROM '$work/sessions.copy'
\\copy answer_events FROM '$work/answer_events.copy'
\\i $work/post.sql
COMMIT;
SQL
read -r floor_s floor_k < <(measure floor psql -q -d move_bench_floor -f "$work/floor.sql")
# Both copied every row.
copied() { psql -Atq -d "$1" -c "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM sessions) + (SELECT count(*) FROM answer_events)"; }
for target in move_bench_ours ${pgl_s:+move_bench_pgloader}; do
    got=$(copied "$target")
    [ "$got" = "$count" ] || { echo "error: $target holds $got rows, the file $count" >&2; exit 1; }
done
got=$(copied move_bench_floor)
[ "$got" = "$count" ] || { echo "error: the floor holds $got rows, the file $count" >&2; exit 1; }
pg "DROP DATABASE IF EXISTS move_bench_ours WITH (FORCE)"; pg "DROP DATABASE IF EXISTS move_bench_pgloader WITH (FORCE)"
pg "DROP DATABASE IF EXISTS move_bench_floor WITH (FORCE)"

rate() { awk -v n="$count" -v s="$1" 'BEGIN { printf "%.0f", n / s }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
ratio() { if [ -z "$1" ] || [ -z "$2" ]; then echo "–"; else awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f×", a / b }'; fi; }
echo "| tool | time | rows/s | peak memory | ratio to the COPY floor | ratio to pgloader |"
echo "| --- | --- | --- | --- | --- | --- |"
echo "| PostgreSQL's own COPY of the rows pre-rendered (psql \\copy from files; the floor) | ${floor_s} s | $(rate "$floor_s") | $(mib "$floor_k") MiB | 1.00× | $(ratio "$floor_s" "$pgl_s") |"
echo "| migrate-cli move (read, convert, copy and verify, one transaction) | ${ours_s} s | $(rate "$ours_s") | $(mib "$ours_k") MiB | $(ratio "$ours_s" "$floor_s") | $(ratio "$ours_s" "$pgl_s") |"
[ -z "$pgl_s" ] || echo "| pgloader $(pgloader --version 2>/dev/null | head -n1 | awk '{print $NF}' | tr -d '"') | ${pgl_s} s | $(rate "$pgl_s") | $(mib "$pgl_k") MiB | $(ratio "$pgl_s" "$floor_s") | 1.00× |"
echo
echo "$count rows ($rows answer events), a ${size} MB SQLite file, on $(psql -Atq -d postgres -c 'SHOW server_version' 2>/dev/null || echo PostgreSQL)."
