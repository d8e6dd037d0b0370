#!/usr/bin/env bash
# Benchmark the embedded registry's upstream pass-through: packaging a
# workspace with crates.io dependencies through `registry serve --upstream
# crates.io` (standing in for crates.io) against packaging it directly for
# crates.io, each with a cold CARGO_HOME. Needs the network. See --help.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/bench-pass-through.sh [OPTIONS]

R times, interleaved, each with a fresh (cold) CARGO_HOME and a fresh copy
of the workspace (default: this repository, whose single crate has about
300 crates.io dependencies in its lockfile):

  (a) cargo package --workspace --no-verify --allow-dirty
        (directly against crates.io; the baseline)
  (b) the same with `--registry bench`, where `bench` is a fresh
      `cargo shipper registry serve --upstream sparse+https://index.crates.io/`
      that stands in for crates.io ([source.crates-io] replace-with)

Goal: (b) / (a) <= 1.3. Both fetch every index file the lockfile needs;
(b) fetches each through the pass-through.

Options:
  --workspace DIR  the workspace to package (default: this repository)
  --runs R         timed runs of each (default 2)
  --no-build       do not run `cargo build --release --locked` first
  --shipper PATH   use this cargo-shipper binary
  --keep           keep the scratch directory
  --markdown       also print a table row for docs/performance.md
  -h, --help       show this help
EOF
}

die() {
    echo "bench-pass-through: error: $*" >&2
    exit 1
}
note() { echo "bench-pass-through: $*" >&2; }

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(cd -- "$script_dir/.." && pwd)
workspace=$root runs=2 build=1 shipper="" keep=0 markdown=0
need_value() { [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value (see --help)"; }
while [[ $# -gt 0 ]]; do
    case $1 in
        --workspace) need_value "$@"; workspace=$2; shift 2 ;;
        --runs) need_value "$@"; runs=$2; shift 2 ;;
        --no-build) build=0; shift ;;
        --shipper) need_value "$@"; shipper=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        --markdown) markdown=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
[[ $runs =~ ^[0-9]+$ ]] && ((runs >= 1)) || die "--runs must be a positive integer, got '$runs'"
[[ -f $workspace/Cargo.toml ]] || die "no Cargo.toml in $workspace"
workspace=$(cd -- "$workspace" && pwd)
[[ -n ${EPOCHREALTIME:-} ]] || die "bash 5 or later is required (EPOCHREALTIME)"
# shellcheck source=scripts/lib-bench.sh
source "$script_dir/lib-bench.sh"
resolve_shipper

scratch=$(mktemp -d "${TMPDIR:-/tmp}/bench-pass-through.XXXXXX")
reg_pid=""
cleanup() {
    if [[ -n $reg_pid ]]; then
        kill -INT "$reg_pid" 2>/dev/null || true
        wait "$reg_pid" 2>/dev/null || true
    fi
    if ((keep)); then note "kept the scratch directory: $scratch"; else rm -rf -- "$scratch"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
unset CARGO_TARGET_DIR
times=$scratch/times
: >"$times"

# A copy of the workspace without build output or state.
fresh_copy() {
    local dest=$1
    mkdir -p "$dest"
    (cd -- "$workspace" && tar --exclude=./target --exclude=./.shipper --exclude=./.git -cf - .) |
        (cd -- "$dest" && tar -xf -)
}

time_run() {
    local name=$1 log=$2 start end
    shift 2
    start=${EPOCHREALTIME/./}
    if ! "$@" >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        die "$name failed (log: $log)"
    fi
    end=${EPOCHREALTIME/./}
    echo "$name $((end - start))" >>"$times"
}

direct() {
    CARGO_HOME=$1 cargo package --workspace --no-verify --allow-dirty \
        --manifest-path "$2/Cargo.toml" --target-dir "$2/target"
}
through() {
    CARGO_HOME=$1 CARGO_REGISTRIES_BENCH_TOKEN=$token cargo package --workspace --no-verify \
        --allow-dirty --registry bench --manifest-path "$2/Cargo.toml" --target-dir "$2/target"
}

for ((i = 1; i <= runs; i++)); do
    note "round $i/$runs: direct"
    fresh_copy "$scratch/ws-direct-$i"
    mkdir -p "$scratch/home-direct-$i"
    time_run direct "$scratch/direct-$i.log" direct "$scratch/home-direct-$i" "$scratch/ws-direct-$i"

    note "round $i/$runs: through the pass-through"
    fresh_copy "$scratch/ws-through-$i"
    home=$scratch/home-through-$i
    mkdir -p "$home"
    "$shipper" shipper registry serve --root "$scratch/reg-$i" \
        --upstream sparse+https://index.crates.io/ --message-format json \
        >"$scratch/reg-$i.json" 2>"$scratch/reg-$i.log" &
    reg_pid=$!
    for _ in $(seq 100); do
        [[ -s $scratch/reg-$i.json ]] && break
        sleep 0.05
    done
    read -r index token < <(python3 -c 'import json,sys; m=json.loads(open(sys.argv[1]).readline()); print(m["index"], m["token"])' "$scratch/reg-$i.json")
    printf '[registries.bench]\nindex = "%s"\n[source.crates-io]\nreplace-with = "bench"\n' "$index" >"$home/config.toml"
    time_run through "$scratch/through-$i.log" through "$home" "$scratch/ws-through-$i"
    kill -INT "$reg_pid" 2>/dev/null || true
    wait "$reg_pid" 2>/dev/null || true
    reg_pid=""
    warnings=$(grep -c "spurious network error" "$scratch/through-$i.log" || true)
    echo "spurious $warnings" >>"$scratch/spurious"
done

commit=$(cd -- "$root" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
deps=$(grep -c '^name = ' "$workspace/Cargo.lock" 2>/dev/null || echo "?")
python3 - "$times" "$scratch/spurious" "$runs" "$commit" "$(nproc)" "$deps" "$markdown" "$(cargo --version | awk '{print $2}')" <<'PY'
import statistics, sys, datetime
times, spurious, runs, commit, nproc, deps, markdown, cargo = sys.argv[1:]
samples = {}
for line in open(times):
    name, usec = line.split()
    samples.setdefault(name, []).append(int(usec) / 1e6)
med = {k: statistics.median(v) for k, v in samples.items()}
spur = sum(int(l.split()[1]) for l in open(spurious))
ratio = med["through"] / med["direct"]
print(f"cargo package --workspace --no-verify, cold CARGO_HOME, {deps} packages in the lockfile:")
print(f"  direct to crates.io:      median {med['direct']:.2f} s")
print(f"  through the pass-through: median {med['through']:.2f} s ({spur} spurious-network warnings)")
print(f"  ratio {ratio:.2f}x (goal <= 1.30: {'met' if ratio <= 1.3 else 'MISSED'})")
if markdown == "1":
    day = datetime.date.today().isoformat()
    print()
    print(f"| {day} | {commit} | {nproc} | {runs} | {deps} | {med['direct']:.2f} s | "
          f"{med['through']:.2f} s | {ratio:.2f}x | {spur} | {cargo} |")
PY
