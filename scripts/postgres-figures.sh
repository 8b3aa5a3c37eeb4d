#!/usr/bin/env bash
# Ingest and delivery on PostgreSQL, one broker node and two (two processes on one database, the load
# generator's clients spread over both), each run on a fresh database. Ingest runs have delivery off;
# delivery runs have the load generator act as the demo's push receivers (home care, hospital).
#
#   PG=postgres://postgres:postgres@127.0.0.1:5432 scripts/postgres-figures.sh      # DURATION=15
set -euo pipefail
cd "$(dirname "$0")/.."
: "${PG:?set PG to a PostgreSQL server URL whose user may create databases}"
DURATION=${DURATION:-15}
BIN=./target/release/handover-broker
cargo build --release --locked --quiet --bin handover-broker
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

# Starts a node on database $1 with delivery $2; prints its URL.
node() {
    local dir
    dir=$(mktemp -d -p "$work")
    HANDOVER_DEMO=true HANDOVER_DELIVERY__ENABLED=$2 \
        HANDOVER_LIMITS__REQUESTS_PER_SECOND=100000 HANDOVER_LIMITS__REQUEST_BURST=100000 \
        HANDOVER_DATABASE_URL="$PG/$1" HANDOVER_LISTEN=127.0.0.1:0 RUST_LOG=warn \
        "$BIN" serve > "$dir/out" 2> "$dir/err" &
    until grep -q '^listening on ' "$dir/out" 2>/dev/null; do sleep 0.1; done
    sed -n 's/^listening on //p' "$dir/out"
}

# One run: nodes, delivery, label, loadgen arguments...
run() {
    local nodes=$1 delivery=$2 label=$3 db urls=() also=()
    shift 3
    db="figures_$(date +%s%N)"
    psql -q "$PG/postgres" -c "CREATE DATABASE $db"
    for _ in $(seq "$nodes"); do urls+=("$(node "$db" "$delivery")"); done
    for url in "${urls[@]:1}"; do also+=(--also-url "$url"); done
    printf '%s node(s), %s: ' "$nodes" "$label"
    RUST_LOG=warn "$BIN" loadgen --url "${urls[0]}" "${also[@]}" --concurrency 32 --duration "$DURATION" --json "$@"
    kill $(jobs -p) 2>/dev/null || true
    wait 2>/dev/null || true
    psql -q "$PG/postgres" -c "DROP DATABASE $db WITH (FORCE)"
}

for nodes in 1 2; do
    run "$nodes" false "ingest, discharge" --token demo-zzl-hospital
    run "$nodes" false "ingest, referral" --token demo-gp-heerlen --bundle fixtures/loadgen/referral-10k.json --compact
    run "$nodes" true "delivery, nursing handover" --token demo-zzl-hospital \
        --bundle fixtures/handovers/nursing-handover-nl.json --receiver-listen 127.0.0.1:9103 --receiver-listen 127.0.0.1:9101
    run "$nodes" true "delivery, referral" --token demo-gp-heerlen \
        --bundle fixtures/loadgen/referral-10k.json --compact --receiver-listen 127.0.0.1:9101
done
