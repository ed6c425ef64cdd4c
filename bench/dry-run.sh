#!/usr/bin/env bash
# bench/dry-run.sh: throughput and peak memory of `tp-invite send --dry-run` on big files.
#
# Not a test: it measures, prints a table and exits 0 (unless a build or a run breaks).
# Run it from the repository root:
#
#     bash bench/dry-run.sh                     # 1M and 2M rows, 5 timed runs each
#     ROWS="100000" RUNS=3 bash bench/dry-run.sh
#
# What it does:
#   1. `cargo build --release` (tp-invite) and the generator example, then writes
#      target/bench/big-N.csv with `cargo run --release --example generate -- N --errors 1`
#      (7 columns; ~1% of rows carry one realistic problem, as in real exports).
#      A file that already exists is reused (delete target/bench/big-*.csv to regenerate).
#   2. The floor: `xsv select 1- big.csv -o out.csv` (parse + rewrite every cell, nothing
#      else). xsv is taken from PATH, else target/bench/tools/bin, else installed there with
#      `cargo install xsv --root target/bench/tools` (a compile from crates.io, ~1-2 min).
#      If that install fails the table shows "-" for xsv and the ratio, and the rest still runs.
#   3. Wall time: hyperfine (median of RUNS runs after 1 warm-up) if installed
#      (`apt-get install hyperfine`), else the median of RUNS runs timed with `date`.
#      tp-invite exits 3 on a file with invalid rows, so failures are ignored while timing;
#      one checked run before timing verifies the exit code and the results row count.
#   4. Peak RSS: `/usr/bin/time -v` (Maximum resident set size) if present, else the
#      process's VmHWM polled from /proc/PID/status (accurate to within the last poll).
#
# Everything tp-invite writes goes under target/bench/ (--results and --errors given).
# Environment knobs: ROWS (space-separated row counts, default "1000000 2000000"),
#   RUNS (timed runs per command, default 5), ERRORS (generator --errors %, default 1);
#   HYPERFINE= and NO_GNU_TIME=1 force the fallbacks (to test them).
# Targets (see the brief): tp-invite wall time <= 3x xsv; peak RSS < 64 MB, and flat in
# the row count except for the duplicate-detection set (about 12 bytes a row).
set -euo pipefail

ROWS=${ROWS:-"1000000 2000000"}
RUNS=${RUNS:-5}
ERRORS=${ERRORS:-1}
BENCH=target/bench
TOOLS=$BENCH/tools

[[ -f Cargo.toml && -d src ]] || { echo "run from the repository root" >&2; exit 1; }
mkdir -p "$BENCH"

log() { printf '>> %s\n' "$*" >&2; }

# ---------------------------------------------------------------- build
log "cargo build --release (tp-invite and the generator)"
cargo build --release --quiet
cargo build --release --quiet --example generate
# A private copy: others may rebuild target/release while this runs.
cp target/release/tp-invite "$BENCH/tp-invite"
TP=$BENCH/tp-invite
log "measuring $(git rev-parse --short HEAD 2>/dev/null || echo '?')$([[ -n $(git status --porcelain -- src Cargo.toml 2>/dev/null) ]] && echo ' + uncommitted changes in src/') (binary copied to $TP)"

# ---------------------------------------------------------------- xsv
XSV=""
if command -v xsv >/dev/null 2>&1; then
    XSV=$(command -v xsv)
elif [[ -x $TOOLS/bin/xsv ]]; then
    XSV=$TOOLS/bin/xsv
else
    log "xsv missing: cargo install xsv --root $TOOLS (log: $BENCH/xsv-install.log)"
    if cargo install xsv --root "$TOOLS" >"$BENCH/xsv-install.log" 2>&1; then
        XSV=$TOOLS/bin/xsv
    else
        log "WARNING: cargo install xsv failed (see $BENCH/xsv-install.log); measuring without the floor"
    fi
fi

HYPERFINE=${HYPERFINE-$(command -v hyperfine || true)}
[[ -n $HYPERFINE ]] || log "hyperfine missing: falling back to the median of $RUNS runs timed with date"
GNU_TIME=""
if [[ -z ${NO_GNU_TIME:-} && -x /usr/bin/time ]] && /usr/bin/time -v true >/dev/null 2>&1; then GNU_TIME=/usr/bin/time; fi
[[ -n $GNU_TIME ]] || log "/usr/bin/time -v missing: peak RSS from /proc/PID/status VmHWM polling"

# ---------------------------------------------------------------- helpers

# PREPARE: a simple command (no shell syntax) run before every timed run, or empty.
PREPARE=""

# median_seconds NAME CMD... : "WALL CPU": median wall time of RUNS runs and mean user+sys
# CPU time, in seconds (stdout). Wall much above CPU means waiting (fsync, other load).
median_seconds() {
    local name=$1; shift
    if [[ -n $HYPERFINE ]]; then
        local csv="$BENCH/hyperfine-$name.csv" prep=()
        [[ -z $PREPARE ]] || prep=(--prepare "$PREPARE")
        # -N: no intermediate shell; -i: tp-invite exits 3 when some rows are invalid.
        "$HYPERFINE" -N -i --style basic --warmup 1 --runs "$RUNS" "${prep[@]}" \
            --export-csv "$csv" -n "$name" -- "$(printf '%q ' "$@")" >&2
        # header: command,mean,stddev,median,user,system,min,max
        # prints "median cpu" (cpu = mean user + system), to 3 decimals
        awk -F, 'NR == 2 { printf "%.3f %.3f\n", $4, $5 + $6 }' "$csv"
    else
        local times=() i t0 t1
        "$@" >/dev/null 2>&1 || true # warm-up (page cache)
        for ((i = 0; i < RUNS; i++)); do
            [[ -z $PREPARE ]] || $PREPARE
            t0=$(date +%s.%N)
            "$@" >/dev/null 2>&1 || true
            t1=$(date +%s.%N)
            times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')")
        done
        # cpu time is not measured without hyperfine: "-"
        printf '%s\n' "${times[@]}" | sort -g |
            awk '{ v[NR] = $1 } END { printf "%.3f -\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
    fi
}

# peak_rss_kb CMD... : peak resident set size of one run, in kB (stdout).
peak_rss_kb() {
    [[ -z $PREPARE ]] || $PREPARE
    if [[ -n $GNU_TIME ]]; then
        local out="$BENCH/time-v.txt"
        "$GNU_TIME" -v -o "$out" "$@" >/dev/null 2>&1 || true
        awk -F': ' '/Maximum resident set size/ { print $2 }' "$out"
    else
        "$@" >/dev/null 2>&1 &
        local pid=$! hwm=0 v
        while kill -0 "$pid" 2>/dev/null; do
            v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
            [[ -n $v ]] && hwm=$v
            sleep 0.02
        done
        wait "$pid" || true
        echo "$hwm"
    fi
}

mb() { if [[ $1 == - ]]; then echo -; else awk -v k="$1" 'BEGIN { printf "%.1fMB", k / 1024 }'; fi; }
FMT='%-8s %-8s %-6s %-6s %-6s %-6s %-8s %-8s %-9s %s\n'
human_size() { numfmt --to=iec --suffix=B --format='%.1f' "$1" 2>/dev/null || echo "$1"; }

# ---------------------------------------------------------------- runs
log "load before: $(uptime)"
declare -a TABLE
for n in $ROWS; do
    big=$BENCH/big-$n.csv
    if [[ ! -s $big ]]; then
        log "generating $big"
        cargo run --release --quiet --example generate -- "$n" --errors "$ERRORS" >"$big.tmp"
        mv "$big.tmp" "$big"
    fi
    size=$(stat -c %s "$big")
    results=$BENCH/big-$n.results.csv
    errors=$BENCH/big-$n.errors.csv
    tp_cmd=("$TP" send "$big" --dry-run --quiet --results "$results" --errors "$errors")

    # One checked run: the exit code must be 0 or 3, and the results must have a line per row.
    log "checking a dry run on $n rows"
    rc=0
    "${tp_cmd[@]}" >/dev/null 2>"$BENCH/big-$n.stderr" || rc=$?
    if [[ $rc -ne 0 && $rc -ne 3 ]]; then
        echo "tp-invite exited $rc on $big:" >&2
        cat "$BENCH/big-$n.stderr" >&2
        exit 1
    fi
    # The results file may hold quoted multi-line cells, so count records, not lines, with xsv if we have it.
    if [[ -n $XSV ]]; then lines=$("$XSV" count "$results"); else lines=$(($(wc -l <"$results") - 1)); fi
    [[ $lines -eq $n ]] || log "WARNING: $results has $lines rows, expected $n"

    xsv_s="-" ratio="-" xsv_rss="-"
    if [[ -n $XSV ]]; then
        log "timing xsv select on $n rows"
        read -r xsv_s _ < <(median_seconds "xsv-$n" "$XSV" select 1- "$big" -o "$BENCH/xsv-out-$n.csv")
        xsv_rss=$(peak_rss_kb "$XSV" select 1- "$big" -o "$BENCH/xsv-out-$n.csv")
    fi
    # "fresh": the first dry run of a file (no results file yet: removed before each run);
    # "rerun": a dry run again over the previous dry run's results (as after fixing a file).
    log "timing tp-invite send --dry-run on $n rows, fresh"
    PREPARE="rm -f $results $errors"
    read -r tp_s tp_cpu < <(median_seconds "tp-invite-fresh-$n" "${tp_cmd[@]}")
    tp_rss=$(peak_rss_kb "${tp_cmd[@]}")
    PREPARE=""
    log "timing tp-invite send --dry-run on $n rows, rerun over the previous results"
    read -r re_s _ < <(median_seconds "tp-invite-rerun-$n" "${tp_cmd[@]}")
    re_rss=$(peak_rss_kb "${tp_cmd[@]}")
    if [[ $xsv_s != "-" ]]; then ratio=$(awk -v a="$tp_s" -v b="$xsv_s" 'BEGIN { printf "%.2fx", a / b }'); fi
    TABLE+=("$(printf "$FMT" "$n" "$(human_size "$size")" "$xsv_s" "$tp_s" "$tp_cpu" "$ratio" "$(mb "$tp_rss")" \
        "$re_s" "$(mb "$re_rss")" "$(mb "$xsv_rss")")")
done
log "load after: $(uptime)"

# ---------------------------------------------------------------- table
{
    echo "tp-invite send --dry-run vs xsv select 1- (wall: median of $RUNS runs, s; cpu: mean user+sys of"
    echo "tp, s; ratio: tp_s / xsv_s; rss: peak of one run; rerun: over the previous dry run's results)"
    printf "$FMT" rows size xsv_s tp_s tp_cpu ratio tp_rss rerun_s rerun_rss xsv_rss
    printf '%s\n' "${TABLE[@]}"
    echo "targets: ratio <= 3.00x, tp_rss < 64 MB (2M rows may add ~8 MB for the duplicate set)"
} | tee "$BENCH/dry-run-table.txt"
