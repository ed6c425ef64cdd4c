#!/usr/bin/env bash
# bench/resume.sh: how soon `send --resume` and `retry` start sending over a results file of
# 1,000,000 rows (issue: "starts sending within a few seconds").
#
# Not a test: it measures and prints. Run it from the repository root:
#
#     bash bench/resume.sh            # 1,000,000 rows
#     ROWS=200000 bash bench/resume.sh
#
# It builds the release binary and the generator, writes target/bench/resume/big.csv, starts
# `tp-invite sandbox` on loopback (half of the invitations answered 500) with its record in
# target/bench/resume/record.jsonl, sends 2,000 rows with `--limit 2000 --max-attempts 1`
# (the rest stay `skipped`, about 1,000 end `failed`), then times from the start of
# `send --resume --limit 10` and of `retry` to the first invitation the sandbox records.
set -euo pipefail

ROWS=${ROWS:-1000000}
DIR=target/bench/resume
PORT=${PORT:-18731}
[[ -f Cargo.toml && -d src ]] || { echo "run from the repository root" >&2; exit 1; }

cargo build --release --quiet
cargo build --release --quiet --example generate
mkdir -p "$DIR"
rm -f "$DIR"/big.results.csv* "$DIR"/big.errors.csv "$DIR"/record.jsonl
[[ -f $DIR/big-$ROWS.csv ]] || target/release/examples/generate "$ROWS" > "$DIR/big-$ROWS.csv"
cp "$DIR/big-$ROWS.csv" "$DIR/big.csv"

now() { date +%s.%N; }
started=$(now)
TP_INVITE_SANDBOX_RECORD=$DIR/record.jsonl target/release/tp-invite sandbox --port "$PORT" --fail-rate 0.5 \
    > "$DIR/sandbox.out" 2> /dev/null &
sandbox=$!
trap 'kill $sandbox 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q '^export TRUSTPILOT_INVITATIONS_API_URL' "$DIR/sandbox.out" 2>/dev/null && break; sleep 0.1; done
# shellcheck disable=SC1090
source <(grep '^export' "$DIR/sandbox.out")
export TP_INVITE_BACKOFF_MS=10

# The time from $1 (epoch seconds) to the first invitation request recorded after line $2.
first_after() {
    python3 - "$DIR/record.jsonl" "$started" "$1" "$2" <<'EOF'
import json, sys
path, started, since, skip = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
for number, text in enumerate(open(path)):
    if number < skip:
        continue
    entry = json.loads(text)
    if entry.get("kind") != "accepted" and "email-invitations" in entry.get("path", ""):
        print("%.2f s" % (started + entry["at_ms"] / 1000 - since))
        break
else:
    print("no invitation recorded")
EOF
}

echo ">> send --limit 2000 over $ROWS rows (half the invitations answered 500)"
target/release/tp-invite send "$DIR/big.csv" --limit 2000 --max-attempts 1 --rate 100000/s --concurrency 16 --quiet || true
cut -d, -f3 "$DIR/big.results.csv" | sort | uniq -c

echo ">> send --resume --limit 10"
lines=$(wc -l < "$DIR/record.jsonl")
t=$(now)
target/release/tp-invite send "$DIR/big.csv" --resume --limit 10 --rate 100000/s --quiet || true
echo "   first invitation after $(first_after "$t" "$lines"); whole run $(python3 -c "print('%.2f s' % ($(now) - $t))")"

echo ">> retry (the failed rows)"
lines=$(wc -l < "$DIR/record.jsonl")
t=$(now)
target/release/tp-invite retry "$DIR/big.results.csv" --rate 100000/s --concurrency 16 --max-attempts 1 --quiet || true
echo "   first invitation after $(first_after "$t" "$lines"); whole run $(python3 -c "print('%.2f s' % ($(now) - $t))")"
