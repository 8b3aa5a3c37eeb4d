# Alternating ingest rounds, sourced by the scripts that compare two settings of the same machine
# (ledger-cost.sh, quality-cost.sh, ingest-ceiling.sh): each round starts a server on a fresh SQLite
# database with delivery off, loads it with the README's ingest settings (32 clients, DURATION seconds)
# and stops it. The caller sets BIN (the broker), DURATION and ROUNDS.
set -euo pipefail
CEILING=./target/release/examples/parse_ceiling
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

# One round: SETTING is NAME=VALUE[,NAME=VALUE...] for the broker's environment, or `ceiling` for the
# bare-parse server of examples/parse_ceiling.rs. Prints accepted/s.
round() { # SETTING token template [--compact]
    local dir pid url settings
    dir=$(mktemp -d -p "$work")
    if [ "$1" = ceiling ]; then
        "$CEILING" 127.0.0.1:0 > "$dir/out" 2> "$dir/err" &
    else
        IFS=, read -r -a settings <<< "$1"
        env "${settings[@]}" HANDOVER_DEMO=true HANDOVER_DELIVERY__ENABLED=false \
            HANDOVER_LIMITS__REQUESTS_PER_SECOND=100000 HANDOVER_LIMITS__REQUEST_BURST=100000 \
            HANDOVER_DATABASE_URL="sqlite://$dir/broker.db" HANDOVER_LISTEN=127.0.0.1:0 RUST_LOG=warn \
            "$BIN" serve > "$dir/out" 2> "$dir/err" &
    fi
    pid=$!
    until grep -q '^listening on ' "$dir/out" 2>/dev/null; do sleep 0.1; done
    url=$(sed -n 's/^listening on //p' "$dir/out")
    "$BIN" loadgen --url "$url" --token "$2" --bundle "$3" ${4:-} --concurrency 32 --duration "$DURATION" --json \
        | sed -n 's/.*"accepted_per_sec":\([0-9.]*\).*/\1/p'
    kill "$pid"
    wait "$pid" 2>/dev/null || true
}

# ROUNDS alternating rounds of two settings for each of the README's ingest templates (the discharge
# fixture as on disk, the small referral compact); prints each round, then per template a line
# `mean TEMPLATE A B` with the two means for the caller to compare.
compare() { # NAME_A SETTING_A NAME_B SETTING_B
    local spec token template compact a b
    printf '%-45s %-8s %s\n' template setting accepted/s
    for spec in "demo-zzl-hospital fixtures/handovers/discharge-summary-nl.json" \
                "demo-gp-heerlen fixtures/loadgen/referral-10k.json --compact"; do
        read -r token template compact <<< "$spec"
        a=(); b=()
        for _ in $(seq "$ROUNDS"); do
            a+=("$(round "$2" "$token" "$template" "$compact")")
            b+=("$(round "$4" "$token" "$template" "$compact")")
            printf '%-45s %-8s %s\n' "$template" "$1" "${a[-1]}" "$template" "$3" "${b[-1]}"
        done
        printf '%s\n' "${a[@]}" > "$work/a"; printf '%s\n' "${b[@]}" > "$work/b"
        paste "$work/a" "$work/b" | awk -v t="$template" '{ a += $1; b += $2 } END { printf "mean %s %.0f %.0f\n", t, a/NR, b/NR }'
    done
}
