#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (FUZZ_SECONDS, default 30) from the committed
# corpus; any crash fails the run and leaves the input under fuzz/artifacts/.
# Uses cargo-fuzz (installed from crates.io when missing) without a sanitizer, so the
# stable toolchain builds it; a panic or abort still counts as a crash.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
seconds="${FUZZ_SECONDS:-30}"
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz" >&2
    cargo install --quiet --locked cargo-fuzz
fi
targets=$(cargo fuzz list)
cargo fuzz build --sanitizer none -O >/dev/null
# One target a core at a time (each libFuzzer run is one process on one core).
parallel="${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}"
results="$(mktemp -d)"
run_one() {
    local t="$1" scratch log rc=0
    mkdir -p "corpus/$t"
    scratch="$(mktemp -d)"
    log="$scratch/log"
    cargo fuzz run --sanitizer none -O "$t" "$scratch" "corpus/$t" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 >"$log" 2>&1 || rc=$?
    {
        echo "fuzz: $t ran ${seconds}s"
        grep -E "^(stat::number_of_executed_units|==|ERROR|SUMMARY|thread|panicked)" "$log" || true
        if [[ $rc -ne 0 ]]; then
            tail -40 "$log"
            echo "fuzz: $t found a crash (exit $rc); the input is in fuzz/artifacts/$t/"
        fi
    } >"$results/$t.out"
    echo "$rc" >"$results/$t.rc"
    rm -rf "$scratch"
}
echo "fuzz: $(echo $targets | wc -w) targets, ${seconds}s each, $parallel at a time"
for t in $targets; do
    while [[ $(jobs -rp | wc -l) -ge $parallel ]]; do
        wait -n || true
    done
    run_one "$t" &
done
wait
failed=0
for t in $targets; do
    cat "$results/$t.out"
    if [[ "$(cat "$results/$t.rc" 2>/dev/null || echo 1)" != 0 ]]; then
        failed=1
    fi
done
rm -rf "$results"
if [[ $failed -ne 0 ]]; then
    echo "fuzz: a target crashed (see above)" >&2
    exit 1
fi
echo "fuzz: every target ran ${seconds}s without a crash"
