#!/usr/bin/env bash
# `migrate-cli move` against pgloader on the same SQLite file: rows per
# second and peak memory (GNU time's maximum resident set size). Needs
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
read -r pgl_s pgl_k < <(measure pgloader pgloader --quiet "sqlite://$db" "postgresql:///move_bench_pgloader?host=/var/run/postgresql&user=$user")
# Both copied every row.
copied() { psql -Atq -d "$1" -c "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM sessions) + (SELECT count(*) FROM answer_events)"; }
for target in move_bench_ours move_bench_pgloader; do
    got=$(copied "$target")
    [ "$got" = "$count" ] || { echo "error: $target holds $got rows, the file $count" >&2; exit 1; }
done
pg "DROP DATABASE IF EXISTS move_bench_ours WITH (FORCE)"; pg "DROP DATABASE IF EXISTS move_bench_pgloader WITH (FORCE)"

rate() { awk -v n="$count" -v s="$1" 'BEGIN { printf "%.0f", n / s }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
echo "| tool | time | rows/s | peak memory | ratio to pgloader (time) |"
echo "| --- | --- | --- | --- | --- |"
echo "| migrate-cli move (copy and verification, one transaction) | ${ours_s} s | $(rate "$ours_s") | $(mib "$ours_k") MiB | $(awk -v a="$ours_s" -v b="$pgl_s" 'BEGIN { printf "%.2f", a / b }')× |"
echo "| pgloader $(pgloader --version 2>/dev/null | head -n1 | awk '{print $NF}' | tr -d '"') | ${pgl_s} s | $(rate "$pgl_s") | $(mib "$pgl_k") MiB | 1.00× |"
echo
echo "$count rows ($rows answer events), a ${size} MB SQLite file, on $(psql -Atq -d postgres -c 'SHOW server_version' 2>/dev/null || echo PostgreSQL)."
