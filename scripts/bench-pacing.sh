#!/usr/bin/env bash
# Benchmark pacing against crates.io's rate limits, emulated by
# `registry serve --rate-limit crates-io` on a clock N times faster. See --help.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/bench-pacing.sh [OPTIONS]

Generate a workspace of NEW crates the registry does not know and OLD crates
it holds at 0.1.0 (seeded first into a registry without limits), bumped to
0.2.0; then serve that registry with crates.io's limits
(`registry serve --rate-limit crates-io --time-scale S`) and publish the
workspace once, paced by the same limits on the same clock
(`[workspace.metadata.shipper.pacing]` with `time-scale = S`):

  cargo-shipper shipper publish --registry bench --no-verify --uploads-in-flight J --message-format json

From its events: the 429 answers (goal: zero), the upload phase (first
upload start to last upload start) against the token-bucket optimum
(both buckets start full and run side by side: max((NEW-5)*600 s,
(OLD-30)*60 s) / S; goal: within 2 %), and the ETA printed before the first
upload against the upload phase (goal: within 5 %).

Options:
  --new N          new crates (default 40)
  --old N          new versions of existing crates (default 40)
  --time-scale S   the limits' clock runs S times faster (default 600)
  --jobs J         publish --uploads-in-flight (default 4)
  --keep           keep the scratch directory and print its path
  --no-build       do not run `cargo build --release --locked` first
  --shipper PATH   use this cargo-shipper binary
  --markdown       also print a table row for docs/performance.md
  -h, --help       show this help
EOF
}

die() {
    echo "bench-pacing: error: $*" >&2
    exit 1
}
note() { echo "bench-pacing: $*" >&2; }

new=40 old=40 scale=600 jobs=4 keep=0 build=1 shipper="" markdown=0
need_value() { [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value (see --help)"; }
is_positive() { [[ $1 =~ ^[0-9]+$ ]] && ((10#$1 >= 1)); }
while [[ $# -gt 0 ]]; do
    case $1 in
        --new) need_value "$@"; new=$2; shift 2 ;;
        --old) need_value "$@"; old=$2; shift 2 ;;
        --time-scale) need_value "$@"; scale=$2; shift 2 ;;
        --jobs) need_value "$@"; jobs=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        --no-build) build=0; shift ;;
        --shipper) need_value "$@"; shipper=$2; shift 2 ;;
        --markdown) markdown=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
for v in new old scale jobs; do
    is_positive "${!v}" || die "--${v/scale/time-scale} must be a positive integer, got '${!v}'"
done
command -v python3 >/dev/null || die "python3 is required"

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(cd -- "$script_dir/.." && pwd)
# shellcheck source=scripts/lib-bench.sh
source "$script_dir/lib-bench.sh"
resolve_shipper

scratch=$(mktemp -d "${TMPDIR:-/tmp}/bench-pacing.XXXXXX")
reg_pid=""
cleanup() {
    if [[ -n $reg_pid ]] && kill -0 "$reg_pid" 2>/dev/null; then
        kill -INT "$reg_pid" 2>/dev/null || true
        wait "$reg_pid" 2>/dev/null || true
    fi
    if ((keep)); then note "kept the scratch directory: $scratch"; else rm -rf -- "$scratch"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

clean_env=(env -u CARGO_TARGET_DIR -u CARGO_BUILD_TARGET_DIR -u RUSTC_WRAPPER
    -u CARGO_REGISTRY_TOKEN -u CARGO_REGISTRY_DEFAULT CARGO_HOME="$scratch/cargo-home")
token=bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')

# start_registry [FLAGS...]: serve $scratch/registry; sets reg_pid, reg_index.
start_registry() {
    local i
    : >"$scratch/serve.out"
    "${clean_env[@]}" "$shipper" shipper registry serve --root "$scratch/registry" \
        --message-format json --token "$token" "$@" \
        >"$scratch/serve.out" 2>"$scratch/serve.err" </dev/null &
    reg_pid=$!
    for ((i = 0; i < 600; i++)); do
        [[ -s $scratch/serve.out ]] && break
        kill -0 "$reg_pid" 2>/dev/null || { cat "$scratch/serve.err" >&2; die "the registry exited"; }
        sleep 0.05
    done
    reg_index=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["index"])' \
        "$scratch/serve.out") || die "no start-up message from the registry"
    mkdir -p "$scratch/cargo-home"
    printf '[registries.bench]\nindex = "%s"\n' "$reg_index" >"$scratch/cargo-home/config.toml"
}
stop_registry() {
    kill -INT "$reg_pid" 2>/dev/null || true
    wait "$reg_pid" 2>/dev/null || true
    reg_pid=""
}

# gen DIR OLD_VERSION WITH_NEW WITH_PACING: independent crates (no
# dependencies: only the limits set the pace).
gen() {
    local dir=$1 old_version=$2 with_new=$3 pacing=$4 i members=()
    mkdir -p "$dir"
    for ((i = 0; i < old; i++)); do members+=("\"bp-old-$i\""); done
    if ((with_new)); then for ((i = 0; i < new; i++)); do members+=("\"bp-new-$i\""); done; fi
    {
        printf '[workspace]\nresolver = "2"\nmembers = [%s]\n' "$(IFS=,; echo "${members[*]}")"
        if ((pacing)); then
            printf '\n[workspace.metadata.shipper.pacing]\n'
            printf 'new-crates = { burst = 5, per-seconds = 600 }\n'
            printf 'new-versions = { burst = 30, per-seconds = 60 }\n'
            printf 'time-scale = %s\n' "$scale"
        fi
    } >"$dir/Cargo.toml"
    crate() {
        mkdir -p "$dir/$1/src"
        printf '[package]\nname = "%s"\nversion = "%s"\nedition = "2021"\nlicense = "MIT"\ndescription = "bench"\n' \
            "$1" "$2" >"$dir/$1/Cargo.toml"
        : >"$dir/$1/src/lib.rs"
    }
    for ((i = 0; i < old; i++)); do crate "bp-old-$i" "$old_version"; done
    if ((with_new)); then for ((i = 0; i < new; i++)); do crate "bp-new-$i" 0.1.0; done; fi
}

publish() { # DIR LOG
    "${clean_env[@]}" CARGO_REGISTRIES_BENCH_TOKEN="$token" "$shipper" shipper publish \
        --registry bench --allow-dirty --no-verify --uploads-in-flight "$jobs" --message-format json \
        --manifest-path "$1/Cargo.toml" >"$2" 2>"$2.err" </dev/null ||
        { tail -n 20 "$2.err" >&2; die "publish failed (log: $2)"; }
}

note "seeding $old existing crates (0.1.0) into a registry without limits"
start_registry
gen "$scratch/seed" 0.1.0 0 0
publish "$scratch/seed" "$scratch/seed.jsonl"
stop_registry

note "publishing $new new crates and $old new versions against crates.io's limits at ${scale}x"
start_registry --rate-limit crates-io --time-scale "$scale"
gen "$scratch/ws" 0.2.0 1 1
t0=${EPOCHREALTIME/[.,]/}
publish "$scratch/ws" "$scratch/run.jsonl"
t1=${EPOCHREALTIME/[.,]/}
stop_registry

python3 - "$scratch/run.jsonl" "$new" "$old" "$scale" "$(((t1 - t0) / 1000))" "$markdown" <<'PY'
import json, sys
events_path, new, old, scale, wall_ms, markdown = sys.argv[1:]
new, old, scale, wall_ms = int(new), int(old), int(scale), int(wall_ms)
events = [json.loads(l) for l in open(events_path) if l.startswith("{")]
starts = [e["at_ms"] for e in events if e["kind"] == "upload_started"]
limited = sum(1 for e in events if e["kind"] == "upload_failed" and e.get("class") == "rate_limited")
eta = next(e["eta_ms"] for e in events if e["kind"] == "pacing_planned")
outcome = events[-1].get("outcome")
optimum = max(max(0, new - 5) * 600_000, max(0, old - 30) * 60_000) / scale
phase = max(starts) - min(starts)
over = (phase - optimum) / optimum * 100 if optimum else 0.0
eta_off = (eta - phase) / phase * 100 if phase else 0.0
print(f"uploads: {len(starts)} ({new} new crates, {old} new versions); outcome: {outcome}")
print(f"429 answers: {limited} (goal 0)")
print(f"upload phase: {phase} ms; token-bucket optimum: {optimum:.0f} ms; {over:+.2f} % (goal within 2 %)")
print(f"ETA printed: {eta} ms; {eta_off:+.2f} % of the upload phase (goal within 5 %)")
print(f"whole command: {wall_ms} ms (packaging included)")
if markdown == "1":
    print(f"| {new} new + {old} versions, {scale}x | {limited} | {phase} ms | {optimum:.0f} ms | {over:+.2f} % | {eta} ms ({eta_off:+.2f} %) | {wall_ms} ms |")
ok = limited == 0 and 0 <= over <= 2 and abs(eta_off) <= 5 and outcome == "success"
sys.exit(0 if ok else 1)
PY
