#!/usr/bin/env bash
# Benchmark `cargo shipper plan` against its floor, `cargo metadata`, on a
# generated hermetic workspace (scripts/gen-workspace.py). Rerunnable; see
# --help. Results go to stdout; progress and tool chatter go to stderr.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/bench-plan.sh [OPTIONS]

Generate a hermetic workspace of N crates (no external dependencies), build
cargo-shipper in release, then time, alternately and R times each, on that
same workspace and with its Cargo.lock already written:

  (a) cargo-shipper shipper plan --offline --manifest-path GEN/Cargo.toml --message-format json
  (b) cargo metadata --format-version 1 --offline --manifest-path GEN/Cargo.toml   (baseline)

and print the median wall time of each and the ratio plan / metadata.

Options:
  --crates N        crates in the generated workspace (default 300)
  --levels L        dependency levels of its DAG (default 9)
  --seed S          generator seed (default 42)
  --runs R          timed runs of each command (default 10)
  --out DIR         generate the workspace in DIR and keep it (default: a
                    temporary directory, removed at exit); DIR must be empty,
                    absent, or a workspace generated earlier by this script
  --keep            keep the temporary workspace and print its path
  --no-build        do not run `cargo build --release --locked` first
  --shipper PATH    time this cargo-shipper binary instead of
                    <target-dir>/release/cargo-shipper (implies nothing about
                    --no-build; combine them to time e.g. a debug build)
  --no-hyperfine    use the built-in timing loop even if hyperfine is installed
  --markdown        also print a Markdown table block for docs/performance.md
  -h, --help        show this help

Timing: with `hyperfine` on PATH, it runs both commands (--shell=none, one
extra warm-up each, --runs R); hyperfine times them in blocks, one command
after the other. Otherwise (or with --no-hyperfine) a python3 loop times them
interleaved (time.perf_counter around subprocess.run), swapping which goes
first every round. Either way one untimed warm-up run of each comes first,
and the plan output is checked against the generated workspace.

Examples:
  scripts/bench-plan.sh
  scripts/bench-plan.sh --crates 300 --runs 20 --markdown
  scripts/bench-plan.sh --no-build --shipper target/debug/cargo-shipper --runs 3
EOF
}

die() {
    echo "bench-plan: error: $*" >&2
    exit 1
}
note() { echo "bench-plan: $*" >&2; }

crates=300
levels=9
seed=42
runs=10
out=""
keep=0
build=1
shipper=""
use_hyperfine=1
markdown=0

need_value() { [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value (see --help)"; }
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
is_positive() { is_uint "$1" && ((10#$1 >= 1)); }

while [[ $# -gt 0 ]]; do
    case $1 in
        --crates) need_value "$@"; crates=$2; shift 2 ;;
        --crates=*) crates=${1#*=}; shift ;;
        --levels) need_value "$@"; levels=$2; shift 2 ;;
        --levels=*) levels=${1#*=}; shift ;;
        --seed) need_value "$@"; seed=$2; shift 2 ;;
        --seed=*) seed=${1#*=}; shift ;;
        --runs) need_value "$@"; runs=$2; shift 2 ;;
        --runs=*) runs=${1#*=}; shift ;;
        --out) need_value "$@"; out=$2; shift 2 ;;
        --out=*) out=${1#*=}; shift ;;
        --keep) keep=1; shift ;;
        --no-build) build=0; shift ;;
        --shipper) need_value "$@"; shipper=$2; shift 2 ;;
        --shipper=*) shipper=${1#*=}; shift ;;
        --no-hyperfine) use_hyperfine=0; shift ;;
        --markdown) markdown=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done

is_positive "$crates" || die "--crates must be a positive integer, got '$crates'"
is_positive "$levels" || die "--levels must be a positive integer, got '$levels'"
is_uint "$seed" || die "--seed must be a non-negative integer, got '$seed'"
is_positive "$runs" || die "--runs must be a positive integer, got '$runs'"
crates=$((10#$crates)) levels=$((10#$levels)) seed=$((10#$seed)) runs=$((10#$runs))
((crates >= levels)) || die "--crates ($crates) must be at least --levels ($levels)"

command -v python3 >/dev/null || die "python3 is required"
command -v cargo >/dev/null || die "cargo is required"

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(cd -- "$script_dir/.." && pwd)

# Scratch space for this run (hyperfine export, plan output); always removed.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/bench-plan.XXXXXX")
gen_tmp=""
cleanup() {
    rm -rf -- "$scratch"
    if [[ -n $gen_tmp && $keep -eq 0 ]]; then rm -rf -- "$gen_tmp"; fi
}
trap cleanup EXIT

# --- the binary ----------------------------------------------------------------
# Sets $shipper to an absolute path of a built binary (builds first unless --no-build).
# shellcheck source=scripts/lib-bench.sh
source "$root/scripts/lib-bench.sh"
resolve_shipper

# --- the workspace -------------------------------------------------------------
if [[ -n $out ]]; then
    gen=$out
else
    gen_tmp=$(mktemp -d "${TMPDIR:-/tmp}/shipper-bench-ws.XXXXXX")
    gen=$gen_tmp
fi
python3 "$script_dir/gen-workspace.py" --out "$gen" --crates "$crates" --levels "$levels" --seed "$seed" >&2
gen=$(cd -- "$gen" && pwd)
manifest=$gen/Cargo.toml
lockfile=$gen/Cargo.lock

plan_cmd=("$shipper" shipper plan --offline --manifest-path "$manifest" --message-format json)
meta_cmd=(cargo metadata --format-version 1 --offline --manifest-path "$manifest")

# --- warm-up: one untimed run each; cargo metadata writes Cargo.lock -----------
note "warm-up: cargo metadata"
"${meta_cmd[@]}" >/dev/null || die "cargo metadata failed on the generated workspace ($gen)"
[[ -f $lockfile ]] || die "cargo metadata did not write $lockfile"
note "warm-up: cargo-shipper plan"
"${plan_cmd[@]}" >"$scratch/plan.json" || die "cargo-shipper plan failed on the generated workspace ($gen)"

# The plan must describe the generated workspace, or the timing means nothing.
python3 - "$scratch/plan.json" "$gen/.gen-workspace.json" <<'PY' >&2 || die "the plan does not match the generated workspace"
import json, sys
plan = json.load(open(sys.argv[1]))
gen = json.load(open(sys.argv[2]))
crates, levels, excluded = len(plan["crates"]), plan["levels"], len(plan["excluded"])
print(f"bench-plan: plan: {crates} crates, {levels} levels, {excluded} excluded, "
      f"{len(plan['broken_edges'])} broken edges, plan id {plan['plan_id']}")
want = (gen["publishable"], gen["levels"], len(gen["unpublished"]))
if (crates, levels, excluded) != want:
    sys.exit(f"bench-plan: expected {want[0]} crates, {want[1]} levels, {want[2]} excluded")
PY
lock_sum=$(cksum <"$lockfile")

# --- timing ----------------------------------------------------------------------
results=$scratch/results.json
hyperfine_bin=""
if ((use_hyperfine)) && command -v hyperfine >/dev/null; then
    hyperfine_bin=$(command -v hyperfine)
fi

if [[ -n $hyperfine_bin ]]; then
    timer="hyperfine $("$hyperfine_bin" --version | awk '{print $2}')"
    note "timing with $timer: $runs runs each (blocks, not interleaved)"
    shell_opt=(--shell=none)
    "$hyperfine_bin" -N --version >/dev/null 2>&1 || shell_opt=()
    "$hyperfine_bin" "${shell_opt[@]}" --warmup 1 --runs "$runs" --style basic \
        --export-json "$results" \
        --command-name "shipper plan" "$(printf '%q ' "${plan_cmd[@]}")" \
        --command-name "cargo metadata" "$(printf '%q ' "${meta_cmd[@]}")" >&2
else
    timer="python3 loop"
    note "timing with a $timer: $runs runs each, interleaved"
    # argv: RUNS OUT NAME CMD... :: NAME CMD...
    python3 -c '
import json, subprocess, sys, time
runs, out, rest = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
split = rest.index("::")
cmds = [(rest[0], rest[1:split]), (rest[split + 1], rest[split + 2:])]
times = {name: [] for name, _ in cmds}
for r in range(runs):
    for name, argv in (cmds if r % 2 == 0 else cmds[::-1]):
        t0 = time.perf_counter()
        p = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        t1 = time.perf_counter()
        if p.returncode != 0:
            sys.stderr.write(p.stderr.decode(errors="replace"))
            sys.exit(f"bench-plan: {name} failed (exit {p.returncode}) in run {r + 1}")
        times[name].append(t1 - t0)
    print(f"bench-plan: run {r + 1}/{runs}: "
          + ", ".join(f"{n} {times[n][-1] * 1e3:.1f} ms" for n, _ in cmds), file=sys.stderr)
json.dump({"results": [{"command": n, "times": times[n]} for n, _ in cmds]}, open(out, "w"))
' "$runs" "$results" "shipper plan" "${plan_cmd[@]}" :: "cargo metadata" "${meta_cmd[@]}"
fi

[[ $(cksum <"$lockfile") == "$lock_sum" ]] ||
    note "warning: $lockfile changed during the timed runs; the runs were not all warm alike"

# --- report ----------------------------------------------------------------------
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ $commit != unknown ]] && [[ -n $(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null) ]]; then
    commit="$commit-dirty"
fi
cargo_version=$(cargo --version | awk '{print $2}')

python3 - "$results" "$markdown" "$(date -u +%Y-%m-%d)" "$(nproc)" "$crates" "$levels" \
    "$runs" "$commit" "$cargo_version" "$timer" "$shipper" "$gen" <<'PY'
import json, statistics, sys
(results, markdown, date, nproc, crates, levels, runs, commit, cargo_version,
 timer, shipper, gen) = sys.argv[1:]
by_name = {r["command"]: r["times"] for r in json.load(open(results))["results"]}
plan, meta = by_name["shipper plan"], by_name["cargo metadata"]

def ms(seconds):
    return f"{seconds * 1e3:.1f} ms"

plan_med, meta_med = statistics.median(plan), statistics.median(meta)
ratio = plan_med / meta_med
print(f"workspace: {crates} crates, {levels} levels, at {gen}")
print(f"binary: {shipper} (commit {commit}); cargo {cargo_version}; nproc {nproc}")
print(f"timer: {timer}, {runs} runs each, warm (Cargo.lock present)")
for name, times, med in (("shipper plan", plan, plan_med), ("cargo metadata", meta, meta_med)):
    print(f"{name:<15} median {ms(med):>10}   min {ms(min(times)):>10}   max {ms(max(times)):>10}")
print(f"ratio (plan / cargo metadata): {ratio:.2f}x")
if markdown == "1":
    print()
    print("| date | commit | nproc | crates | levels | runs | `shipper plan` median "
          "| `cargo metadata` median | ratio | cargo | timer |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
    print(f"| {date} | {commit} | {nproc} | {crates} | {levels} | {runs} | {ms(plan_med)} "
          f"| {ms(meta_med)} | {ratio:.2f}x | {cargo_version} | {timer} |")
PY

if [[ -n $gen_tmp && $keep -eq 1 ]]; then note "kept the generated workspace: $gen_tmp"; fi
