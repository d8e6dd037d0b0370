#!/usr/bin/env bash
# Time the README's test command, `cargo test --locked`, at two commits on
# this machine: the baseline and the one measured. Rerunnable; see --help.
# Results go to stdout; progress and cargo's chatter go to stderr.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/bench-tests.sh [OPTIONS]

For each of two commits, in turn: a git worktree of it under WORK, a copy
of this checkout's target/debug (so third-party dependencies are built
already, as they would be after the first build of a fresh clone), then
`cargo clean -p cargo-shipper` (this crate, its binary and every test target
are compiled again) and the timed `cargo test --locked --no-fail-fast`.
With --fresh, each worktree starts with no target directory at all: a
fresh clone's first `cargo test --locked`, third-party dependencies
included (the registry's download cache is this machine's, as for both).
Prints each commit's compile time (cargo's `Finished` line), wall time,
test count and failures, and the ratio of the measured commit to the
baseline. Run it on an otherwise idle machine.

Options:
  --baseline REV   the commit to compare against (default dbd2322, the last
                   with one test binary per file)
  --measured REV   the commit measured (default HEAD)
  --fresh          no copied target directory: everything is compiled
  --work DIR       where the worktrees go (default: a temporary directory,
                   removed at exit)
  -h, --help       this text
EOF
}

note() { printf '%s\n' "$*" >&2; }
die() { note "error: $*"; exit 2; }

baseline=dbd2322
measured=HEAD
work=""
fresh=0
while (($#)); do
    case $1 in
        --baseline) baseline=${2:?}; shift 2 ;;
        --measured) measured=${2:?}; shift 2 ;;
        --work) work=${2:?}; shift 2 ;;
        --fresh) fresh=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done

root=$(cd -- "$(dirname -- "$0")/.." && pwd)
((fresh)) || [[ -d $root/target/debug ]] || die "no $root/target/debug: run \`cargo test --locked --no-run\` once first"
if [[ -z $work ]]; then
    work=$(mktemp -d)
    trap 'git -C "$root" worktree prune; rm -rf -- "$work"' EXIT
fi

time_at() { # <rev> <label>: prints "label compile_s wall_s passed failed"
    local rev=$1 label=$2 tree=$work/$2 start end log
    git -C "$root" worktree add --detach --force "$tree" "$rev" >&2
    if ((!fresh)); then
        mkdir -p "$tree/target"
        cp -a "$root/target/debug" "$tree/target/debug"
        (cd "$tree" && cargo clean -p cargo-shipper) >&2
    fi
    log=$work/$label.log
    note "timing cargo test --locked --no-fail-fast at $rev ($label)"
    start=$(date +%s.%N)
    (cd "$tree" && env -u CARGO_TARGET_DIR cargo test --locked --no-fail-fast) >"$log" 2>&1 || true
    end=$(date +%s.%N)
    local compile passed failed
    # `Finished … in 33.12s` or `in 1m 21s`: in seconds.
    compile=$(grep -m1 -oE 'Finished .* in ([0-9]+m )?[0-9.]+s' "$log" \
        | sed -E 's/.* in //' | awk '{ if (NF == 2) print $1 * 60 + $2; else print $1 + 0 }' || echo "?")
    passed=$(grep -oE '^test result: .* ([0-9]+) passed' "$log" | grep -oE '[0-9]+ passed' | awk '{s += $1} END {print s + 0}')
    failed=$(grep -oE '[0-9]+ failed' "$log" | awk '{s += $1} END {print s + 0}')
    git -C "$root" worktree remove --force "$tree" >&2
    printf '%s %s %.0f %s %s\n' "$label" "$compile" "$(echo "$end - $start" | bc)" "$passed" "$failed"
}

base=$(time_at "$baseline" baseline)
meas=$(time_at "$measured" measured)
read -r -a b <<<"$base"
read -r -a m <<<"$meas"
printf '%-9s %9s %7s %7s %7s\n' which compile_s wall_s passed failed
printf '%-9s %9s %7s %7s %7s\n' "${b[@]}"
printf '%-9s %9s %7s %7s %7s\n' "${m[@]}"
awk -v b="${b[2]}" -v m="${m[2]}" 'BEGIN { printf "ratio (measured / baseline wall): %.2fx\n", m / b }'
