#!/usr/bin/env bash
# Benchmark `cargo shipper rehearse`: (1) the demo workspace on a warm build,
# (2) a rehearsal against a plain `publish` of the same generated workspace
# to a served embedded registry (its overhead). Rerunnable; see --help.
# Results on stdout; progress on stderr; tool output in log files.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/bench-rehearse.sh [OPTIONS]

(1) Demo. Copies examples/demo-workspace to a scratch directory, runs
    `cargo shipper rehearse` once to warm the build, then times R more runs
    (each a full rehearsal: embedded registry, package + verify, uploads,
    consumer build). Goal: median under 3 s.

(2) Overhead. Generates a hermetic workspace of N crates
    (scripts/gen-workspace.py), warms its build once per contender, then,
    R times, interleaved:
      (a) cargo-shipper shipper publish --registry bench --allow-dirty --uploads-in-flight J
          into a fresh `cargo shipper registry serve` (no delays), with a
          CARGO_HOME whose config makes it stand in for crates.io;
      (b) cargo-shipper shipper rehearse --allow-dirty --uploads-in-flight J
          (embedded registry, same engine, plus the consumer build).
    Both verify. Goal: (b) / (a) <= 1.10. The consumer build's share of (b)
    is reported from rehearsal.json, beside the warm-up's (the first
    rehearsal, whose consumer build starts from nothing). Goal: the later
    ones' consumer build <= 20 % of the first one's.

Both run with every proxy pointed at a closed port (loopback exempt), so
neither touches the network: the rehearsal's live-target check fails fast
and is reported as a warning, as it would be offline.

Options:
  --runs R        timed runs of each command (default 5)
  --crates N      crates in the generated workspace (default 30)
  --levels L      its dependency levels (default 6)
  --jobs J        --uploads-in-flight for both (default 4)
  --no-build      do not run `cargo build --release --locked` first
  --shipper PATH  use this cargo-shipper binary
  --keep          keep the scratch directory
  --markdown      also print table rows for docs/performance.md
  -h, --help      show this help
EOF
}

die() {
    echo "bench-rehearse: error: $*" >&2
    exit 1
}
note() { echo "bench-rehearse: $*" >&2; }

runs=5 crates=30 levels=6 jobs=4 build=1 shipper="" keep=0 markdown=0
need_value() { [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value (see --help)"; }
is_positive() { [[ $1 =~ ^[0-9]+$ ]] && ((10#$1 >= 1)); }
while [[ $# -gt 0 ]]; do
    case $1 in
        --runs) need_value "$@"; runs=$2; shift 2 ;;
        --crates) need_value "$@"; crates=$2; shift 2 ;;
        --levels) need_value "$@"; levels=$2; shift 2 ;;
        --jobs) need_value "$@"; jobs=$2; shift 2 ;;
        --no-build) build=0; shift ;;
        --shipper) need_value "$@"; shipper=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        --markdown) markdown=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
for v in runs crates levels jobs; do
    is_positive "${!v}" || die "--$v must be a positive integer, got '${!v}'"
done
((crates >= levels)) || die "--crates ($crates) must be at least --levels ($levels)"
command -v python3 >/dev/null || die "python3 is required"
[[ -n ${EPOCHREALTIME:-} ]] || die "bash 5 or later is required (EPOCHREALTIME)"

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(cd -- "$script_dir/.." && pwd)
# shellcheck source=scripts/lib-bench.sh
source "$script_dir/lib-bench.sh"
resolve_shipper

scratch=$(mktemp -d "${TMPDIR:-/tmp}/bench-rehearse.XXXXXX")
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

# No network: every proxy at a closed port, loopback exempt.
export HTTPS_PROXY=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9
export HTTP_PROXY=http://127.0.0.1:9 http_proxy=http://127.0.0.1:9
export ALL_PROXY=http://127.0.0.1:9 all_proxy=http://127.0.0.1:9
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
unset CARGO_TARGET_DIR CARGO_REGISTRY_TOKEN
times=$scratch/times
: >"$times"

# time_run NAME LOG CMD...: append "NAME microseconds" to $times.
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

# --- (1) the demo -------------------------------------------------------------
demo=$scratch/demo
mkdir -p "$demo/home"
cp -r "$root/examples/demo-workspace" "$demo/ws"
rm -rf "$demo/ws/target" "$demo/ws/.shipper" "$demo/ws/Cargo.lock"
note "demo: warming the build"
CARGO_HOME=$demo/home "$shipper" shipper rehearse --allow-dirty \
    --manifest-path "$demo/ws/Cargo.toml" >"$scratch/demo-warm.log" 2>&1 ||
    { tail -n 30 "$scratch/demo-warm.log" >&2; die "the warm-up rehearsal failed"; }
for ((i = 1; i <= runs; i++)); do
    note "demo: run $i/$runs"
    time_run demo "$scratch/demo-$i.log" env CARGO_HOME="$demo/home" \
        "$shipper" shipper rehearse --allow-dirty --manifest-path "$demo/ws/Cargo.toml"
done

# --- (2) rehearse against publish ---------------------------------------------
ws=$scratch/ws
python3 "$script_dir/gen-workspace.py" --out "$ws" --crates "$crates" --levels "$levels" >&2
pub_home=$scratch/home-publish reh_home=$scratch/home-rehearse
mkdir -p "$pub_home" "$reh_home"

# start_registry DIR: a fresh `registry serve`; sets reg_pid, index, token.
start_registry() {
    local dir=$1
    mkdir -p "$dir"
    "$shipper" shipper registry serve --root "$dir/data" --message-format json \
        >"$dir/started.json" 2>"$dir/serve.log" &
    reg_pid=$!
    for _ in $(seq 100); do
        [[ -s $dir/started.json ]] && break
        sleep 0.05
    done
    read -r index token < <(python3 -c 'import json,sys; m=json.loads(open(sys.argv[1]).readline()); print(m["index"], m["token"])' "$dir/started.json")
    printf '[registries.bench]\nindex = "%s"\n[source.crates-io]\nreplace-with = "bench"\n' "$index" \
        >"$pub_home/config.toml"
}
stop_registry() {
    kill -INT "$reg_pid" 2>/dev/null || true
    wait "$reg_pid" 2>/dev/null || true
    reg_pid=""
}
publish_once() {
    CARGO_HOME=$pub_home CARGO_REGISTRIES_BENCH_TOKEN=$token "$shipper" shipper publish \
        --registry bench --allow-dirty --uploads-in-flight "$jobs" --manifest-path "$ws/Cargo.toml"
}
rehearse_once() {
    CARGO_HOME=$reh_home "$shipper" shipper rehearse --allow-dirty --uploads-in-flight "$jobs" \
        --manifest-path "$ws/Cargo.toml"
}

note "overhead: warming the build (publish, then rehearse)"
start_registry "$scratch/reg-warm"
publish_once >"$scratch/publish-warm.log" 2>&1 || { tail -n 30 "$scratch/publish-warm.log" >&2; die "warm-up publish failed"; }
stop_registry
rehearse_once >"$scratch/rehearse-warm.log" 2>&1 || { tail -n 30 "$scratch/rehearse-warm.log" >&2; die "warm-up rehearse failed"; }
# The warm-up is the first rehearsal: its consumer build starts from nothing.
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["consumer_build"]["ms"])' \
    "$ws/.shipper/rehearsal.json" >"$scratch/first_consumer_ms"
: >"$scratch/consumer_ms"
for ((i = 1; i <= runs; i++)); do
    note "overhead: round $i/$runs"
    rm -rf "$ws/.shipper"
    start_registry "$scratch/reg-$i"
    time_run publish "$scratch/publish-$i.log" publish_once
    stop_registry
    time_run rehearse "$scratch/rehearse-$i.log" rehearse_once
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["consumer_build"]["ms"])' \
        "$ws/.shipper/rehearsal.json" >>"$scratch/consumer_ms"
done

# --- report -------------------------------------------------------------------
commit=$(cd -- "$root" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
cargo_version=$(cargo --version | awk '{print $2}')
python3 - "$times" "$scratch/consumer_ms" "$scratch/first_consumer_ms" "$runs" "$crates" "$levels" "$jobs" "$commit" \
    "$(nproc)" "$cargo_version" "$markdown" <<'PY'
import statistics, sys, datetime
times, consumer, first_consumer, runs, crates, levels, jobs, commit, nproc, cargo, markdown = sys.argv[1:]
samples = {}
for line in open(times):
    name, usec = line.split()
    samples.setdefault(name, []).append(int(usec) / 1e6)
med = {k: statistics.median(v) for k, v in samples.items()}
cons = statistics.median(int(l) for l in open(consumer) if l.strip()) / 1000
first = int(open(first_consumer).read()) / 1000
share = cons / first if first else 0.0
ratio = med["rehearse"] / med["publish"]
print(f"demo rehearse (warm): median {med['demo']:.2f} s over {runs} runs "
      f"(goal < 3 s: {'met' if med['demo'] < 3 else 'MISSED'})")
print(f"{crates} crates, {levels} levels, --uploads-in-flight {jobs}: publish {med['publish']:.2f} s, "
      f"rehearse {med['rehearse']:.2f} s (consumer build {cons:.2f} s); "
      f"ratio {ratio:.2f}x (goal <= 1.10: {'met' if ratio <= 1.10 else 'MISSED'})")
print(f"consumer build: first rehearsal {first:.2f} s, later ones {cons:.2f} s = {share:.0%} "
      f"(goal <= 20%: {'met' if share <= 0.20 else 'MISSED'})")
if markdown == "1":
    day = datetime.date.today().isoformat()
    print()
    print(f"| {day} | {commit} | {nproc} | {runs} | {med['demo']:.2f} s | {crates} | "
          f"{med['publish']:.2f} s | {med['rehearse']:.2f} s | {cons:.2f} s | {first:.2f} s | "
          f"{ratio:.2f}x | {cargo} |")
PY
