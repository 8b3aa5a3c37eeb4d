#!/usr/bin/env bash
# The ingest cost of ledgering: the same release broker with the ledger on and off (ledger.enabled,
# demo mode only), in alternating rounds of one run so that both meet the same machine, each round on a
# fresh SQLite database with delivery off (ingest only), driven by the load generator.
#
#   scripts/ledger-cost.sh            # ROUNDS=3 DURATION=15 by default
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-15}
BIN=./target/release/handover-broker
cargo build --release --quiet
work=$(mktemp -d)
trap 'kill "$(jobs -p)" 2>/dev/null || true; rm -rf "$work"' EXIT

# One round: start a broker, load it, print accepted/s, stop it.
round() { # ledger(true|false) token template [--compact]
    local dir pid url
    dir=$(mktemp -d -p "$work")
    HANDOVER_DEMO=true HANDOVER_LEDGER__ENABLED=$1 HANDOVER_DELIVERY__ENABLED=false \
        HANDOVER_LIMITS__REQUESTS_PER_SECOND=100000 HANDOVER_LIMITS__REQUEST_BURST=100000 \
        HANDOVER_DATABASE_URL="sqlite://$dir/broker.db" HANDOVER_LISTEN=127.0.0.1:0 RUST_LOG=warn \
        "$BIN" serve > "$dir/out" 2> "$dir/err" &
    pid=$!
    until grep -q '^listening on ' "$dir/out" 2>/dev/null; do sleep 0.1; done
    url=$(sed -n 's/^listening on //p' "$dir/out")
    "$BIN" loadgen --url "$url" --token "$2" --bundle "$3" ${4:-} --concurrency 32 --duration "$DURATION" --json \
        | sed -n 's/.*"accepted_per_sec":\([0-9.]*\).*/\1/p'
    kill "$pid"
    wait "$pid" 2>/dev/null || true
}

printf '%-40s %-7s %s\n' template ledger accepted/s
# The README's ingest templates: the discharge fixture as on disk, the small referral compact.
for spec in "demo-zzl-hospital fixtures/handovers/discharge-summary-nl.json" \
            "demo-gp-heerlen fixtures/loadgen/referral-10k.json --compact"; do
    read -r token template compact <<< "$spec"
    on=(); off=()
    for _ in $(seq "$ROUNDS"); do
        on+=("$(round true "$token" "$template" "$compact")")
        off+=("$(round false "$token" "$template" "$compact")")
        printf '%-40s %-7s %s\n' "$template" on "${on[-1]}" "$template" off "${off[-1]}"
    done
    printf '%s\n' "${on[@]}" > "$work/on"; printf '%s\n' "${off[@]}" > "$work/off"
    paste "$work/on" "$work/off" | awk -v t="$template" \
        '{ on += $1; off += $2 } END { printf "%-40s mean: on %.0f/s, off %.0f/s, ledgering costs %.1f%%\n", t, on/NR, off/NR, 100 * (1 - on/off) }'
done
