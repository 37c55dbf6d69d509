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
for t in $targets; do
    mkdir -p "corpus/$t"
    scratch="$(mktemp -d)"
    echo "fuzz: $t for ${seconds}s"
    log="$scratch/log"
    rc=0
    cargo fuzz run --sanitizer none -O "$t" "$scratch" "corpus/$t" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 >"$log" 2>&1 || rc=$?
    grep -E "^(stat::number_of_executed_units|==|ERROR|SUMMARY|thread|panicked)" "$log" || true
    if [[ $rc -ne 0 ]]; then
        tail -40 "$log" >&2
    fi
    rm -rf "$scratch"
    if [[ $rc -ne 0 ]]; then
        echo "fuzz: $t found a crash (exit $rc); the input is in fuzz/artifacts/$t/" >&2
        exit 1
    fi
done
echo "fuzz: every target ran ${seconds}s without a crash"
