#!/usr/bin/env bash
# Ingest against its ceiling: the release broker (full validation, payload hash, durable commit, ledger,
# acknowledgement) and `examples/parse_ceiling.rs` (receive and parse into a serde_json::Value, nothing
# else) under the same load generator, in alternating rounds of one run so that both meet the same
# machine. Each broker round has a fresh SQLite database and delivery off (ingest only).
#
#   scripts/ingest-ceiling.sh            # ROUNDS=3 DURATION=15 by default
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-15}
BIN=./target/release/handover-broker
CEILING=./target/release/examples/parse_ceiling
cargo build --release --locked --quiet --bin handover-broker --example parse_ceiling
work=$(mktemp -d)
trap 'kill "$(jobs -p)" 2>/dev/null || true; rm -rf "$work"' EXIT

# One round: start the server, load it, print accepted/s, stop it.
round() { # broker|ceiling token template [--compact]
    local dir pid url
    dir=$(mktemp -d -p "$work")
    if [ "$1" = broker ]; then
        HANDOVER_DEMO=true HANDOVER_DELIVERY__ENABLED=false \
            HANDOVER_LIMITS__REQUESTS_PER_SECOND=100000 HANDOVER_LIMITS__REQUEST_BURST=100000 \
            HANDOVER_DATABASE_URL="sqlite://$dir/broker.db" HANDOVER_LISTEN=127.0.0.1:0 RUST_LOG=warn \
            "$BIN" serve > "$dir/out" 2> "$dir/err" &
    else
        "$CEILING" 127.0.0.1:0 > "$dir/out" 2> "$dir/err" &
    fi
    pid=$!
    until grep -q '^listening on ' "$dir/out" 2>/dev/null; do sleep 0.1; done
    url=$(sed -n 's/^listening on //p' "$dir/out")
    "$BIN" loadgen --url "$url" --token "$2" --bundle "$3" ${4:-} --concurrency 32 --duration "$DURATION" --json \
        | sed -n 's/.*"accepted_per_sec":\([0-9.]*\).*/\1/p'
    kill "$pid"
    wait "$pid" 2>/dev/null || true
}

printf '%-40s %-8s %s\n' template server accepted/s
for spec in "demo-zzl-hospital fixtures/handovers/discharge-summary-nl.json" \
            "demo-gp-heerlen fixtures/loadgen/referral-10k.json --compact"; do
    read -r token template compact <<< "$spec"
    broker=(); ceiling=()
    for _ in $(seq "$ROUNDS"); do
        ceiling+=("$(round ceiling "$token" "$template" "$compact")")
        broker+=("$(round broker "$token" "$template" "$compact")")
        printf '%-40s %-8s %s\n' "$template" ceiling "${ceiling[-1]}" "$template" broker "${broker[-1]}"
    done
    printf '%s\n' "${broker[@]}" > "$work/broker"; printf '%s\n' "${ceiling[@]}" > "$work/ceiling"
    paste "$work/broker" "$work/ceiling" | awk -v t="$template" \
        '{ b += $1; c += $2 } END { printf "%-40s mean: broker %.0f/s, bare parse %.0f/s: %.0f%% of the ceiling\n", t, b/NR, c/NR, 100 * b/c }'
done
