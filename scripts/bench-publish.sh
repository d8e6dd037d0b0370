#!/usr/bin/env bash
# Benchmark `cargo shipper publish` against `cargo publish --workspace` and
# against its critical-path lower bound, on a generated hermetic workspace
# (scripts/gen-workspace.py) and fresh embedded registries with scripted
# upload latency and index propagation delay; plus the no-op rerun (every
# crate already in the registry). Rerunnable; see --help. Results go to
# stdout; progress and tool chatter go to stderr (tool output to log files).
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/bench-publish.sh [OPTIONS]

Generate a hermetic workspace of N crates (no external dependencies), build
cargo-shipper in release, then, R times, each time on a fresh copy of that
workspace (copied before any build, so each pays its own compile), with a
fresh CARGO_HOME and a fresh embedded registry (`cargo shipper registry serve`
with --propagation-delay-ms and --upload-latency-ms), time:

  (a) cargo-shipper shipper publish --registry bench --allow-dirty --uploads-in-flight J --manifest-path WS/Cargo.toml
  (b) cargo publish --workspace --registry bench --allow-dirty --manifest-path WS/Cargo.toml   (baseline)
  (c) cargo package --workspace --exclude U... --registry bench --allow-dirty
        --manifest-path WS/Cargo.toml   (verify time; U: the `publish = false` members,
        which cargo package would otherwise package and build too)

Both (a) and (b) verify (build) every crate before uploading, as cargo does by
default. After (a) and (b), every publishable crate's index file must be
served (HTTP 200, with the version) and no `publish = false` crate's; the
script fails otherwise. Then it prints the medians and

  bound = chain × (upload latency + propagation delay) + verify

where chain is the number of crates on the longest chain of normal and build
dependencies between publishable members (read from the generated manifests;
dev-dependencies do not count) and verify is the median time of (c): a
publish cannot go faster than verifying everything once and then uploading
and confirming the longest chain one crate after the other. Goals:
shipper / bound <= 1.15 and shipper / cargo publish <= 0.70.

No-op rerun (unless --no-noop): generate M crates (--noop-crates, default
200; --noop-levels, default 8), publish them once with
`cargo-shipper shipper publish --no-verify` into a fresh registry without
delays, then time, R times each and interleaved, with the same CARGO_HOME:

  (d) cargo-shipper shipper publish --registry bench --allow-dirty --no-verify --uploads-in-flight J
        --message-format json --manifest-path WS/Cargo.toml   (every crate skipped)
  (e) cargo metadata --format-version 1 --manifest-path WS/Cargo.toml   (anchor)

(d) must upload nothing and report every publishable crate as already in the
registry. Goal: (d) < 2 s.

Options:
  --crates N              crates in the generated workspace (default 30)
  --levels L              dependency levels of its DAG (default 6)
  --seed S                generator seed, both workspaces (default 42)
  --runs R                timed runs of each command (default 1; a run of
                          (a)+(b)+(c) takes tens of seconds)
  --propagation-ms MS     registry index propagation delay (default 1000)
  --upload-latency-ms MS  registry upload latency (default 300)
  --jobs J                cargo-shipper publish --uploads-in-flight (default 4)
  --noop                  run the no-op rerun section (the default)
  --no-noop               skip it
  --noop-crates M         crates in its workspace (default 200)
  --noop-levels L         its dependency levels (default 8)
  --keep                  keep the scratch directory (workspaces, registries,
                          CARGO_HOMEs, logs) and print its path
  --no-build              do not run `cargo build --release --locked` first
  --shipper PATH          use this cargo-shipper binary instead of
                          <target-dir>/release/cargo-shipper (combine with
                          --no-build to time e.g. a debug build)
  --markdown              also print Markdown table blocks for docs/performance.md
  -h, --help              show this help

Timing: wall time of each command (bash EPOCHREALTIME around the process),
registry start-up and the index checks excluded. Rounds rotate which of
(a), (b), (c) goes first. Tool output goes to log files in the scratch
directory; on a failure the tail of the log is shown.

Examples:
  scripts/bench-publish.sh --markdown
  scripts/bench-publish.sh --runs 3 --no-noop
  scripts/bench-publish.sh --no-build --shipper target/debug/cargo-shipper \
      --crates 6 --levels 3 --propagation-ms 200 --upload-latency-ms 100 --noop-crates 20
EOF
}

die() {
    echo "bench-publish: error: $*" >&2
    exit 1
}
note() { echo "bench-publish: $*" >&2; }

crates=30
levels=6
seed=42
runs=1
propagation_ms=1000
upload_ms=300
jobs=4
noop=1
noop_crates=200
noop_levels=8
keep=0
build=1
shipper=""
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
        --propagation-ms) need_value "$@"; propagation_ms=$2; shift 2 ;;
        --propagation-ms=*) propagation_ms=${1#*=}; shift ;;
        --upload-latency-ms) need_value "$@"; upload_ms=$2; shift 2 ;;
        --upload-latency-ms=*) upload_ms=${1#*=}; shift ;;
        --jobs) need_value "$@"; jobs=$2; shift 2 ;;
        --jobs=*) jobs=${1#*=}; shift ;;
        --noop) noop=1; shift ;;
        --no-noop) noop=0; shift ;;
        --noop-crates) need_value "$@"; noop_crates=$2; shift 2 ;;
        --noop-crates=*) noop_crates=${1#*=}; shift ;;
        --noop-levels) need_value "$@"; noop_levels=$2; shift 2 ;;
        --noop-levels=*) noop_levels=${1#*=}; shift ;;
        --keep) keep=1; shift ;;
        --no-build) build=0; shift ;;
        --shipper) need_value "$@"; shipper=$2; shift 2 ;;
        --shipper=*) shipper=${1#*=}; shift ;;
        --markdown) markdown=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done

is_positive "$crates" || die "--crates must be a positive integer, got '$crates'"
is_positive "$levels" || die "--levels must be a positive integer, got '$levels'"
is_uint "$seed" || die "--seed must be a non-negative integer, got '$seed'"
is_positive "$runs" || die "--runs must be a positive integer, got '$runs'"
is_uint "$propagation_ms" || die "--propagation-ms must be a non-negative integer, got '$propagation_ms'"
is_uint "$upload_ms" || die "--upload-latency-ms must be a non-negative integer, got '$upload_ms'"
is_positive "$jobs" || die "--jobs must be a positive integer, got '$jobs'"
is_positive "$noop_crates" || die "--noop-crates must be a positive integer, got '$noop_crates'"
is_positive "$noop_levels" || die "--noop-levels must be a positive integer, got '$noop_levels'"
crates=$((10#$crates)) levels=$((10#$levels)) seed=$((10#$seed)) runs=$((10#$runs))
propagation_ms=$((10#$propagation_ms)) upload_ms=$((10#$upload_ms)) jobs=$((10#$jobs))
noop_crates=$((10#$noop_crates)) noop_levels=$((10#$noop_levels))
((crates >= levels)) || die "--crates ($crates) must be at least --levels ($levels)"
((!noop || noop_crates >= noop_levels)) ||
    die "--noop-crates ($noop_crates) must be at least --noop-levels ($noop_levels)"

command -v python3 >/dev/null || die "python3 is required"
command -v cargo >/dev/null || die "cargo is required"
[[ -n ${EPOCHREALTIME:-} ]] || die "bash 5 or later is required (EPOCHREALTIME)"

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(cd -- "$script_dir/.." && pwd)

# --- scratch space, background registries, cleanup ------------------------------
scratch=$(mktemp -d "${TMPDIR:-/tmp}/bench-publish.XXXXXX")
reg_pids=()

# Stop a registry: SIGINT (it exits 0), then SIGKILL if it lingers. Prints
# nothing; returns the registry's exit status (or 137 when killed).
stop_pid() {
    local pid=$1 i rc=0
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || rc=$?; return "$rc"; }
    kill -INT "$pid" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || rc=$?
    return "$rc"
}

cleanup() {
    local pid
    for pid in "${reg_pids[@]}"; do
        stop_pid "$pid" || true
    done
    reg_pids=()
    if ((keep)); then
        note "kept the scratch directory: $scratch"
    else
        rm -rf -- "$scratch"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- helpers (python3, standard library) --------------------------------------
helper=$scratch/helper.py
cat >"$helper" <<'PY'
import json, statistics, sys, time, tomllib, urllib.error, urllib.request
from pathlib import Path


def serve_info(path):
    """The registry's one-line JSON start-up message -> index, api, token."""
    msg = json.loads(Path(path).read_text().splitlines()[0])
    for key in ("index", "api", "token"):
        if not isinstance(msg.get(key), str) or not msg[key]:
            sys.exit(f"start-up message without {key!r}: {msg}")
    print(msg["index"], msg["api"], msg["token"])


def members(ws):
    """name -> (publishable, hard workspace dependencies) from crates/*/Cargo.toml."""
    ws = Path(ws)
    root = tomllib.loads((ws / "Cargo.toml").read_text())
    ws_deps = root.get("workspace", {}).get("dependencies", {})
    raw = {}
    for manifest in sorted(ws.glob("crates/*/Cargo.toml")):
        doc = tomllib.loads(manifest.read_text())
        raw[doc["package"]["name"]] = doc
    out = {}
    for name, doc in raw.items():
        tables = [doc.get("dependencies", {}), doc.get("build-dependencies", {})]
        for target in doc.get("target", {}).values():
            tables += [target.get("dependencies", {}), target.get("build-dependencies", {})]
        deps = set()
        for table in tables:
            for key, spec in table.items():
                pkg = key
                if isinstance(spec, dict):
                    if spec.get("workspace"):
                        inherited = ws_deps.get(key, {})
                        if isinstance(inherited, dict):
                            pkg = inherited.get("package", key)
                    else:
                        pkg = spec.get("package", key)
                if pkg in raw:
                    deps.add(pkg)
        out[name] = (doc["package"].get("publish", True) is not False, sorted(deps))
    return out


def workspace(ws, out_json):
    """Publishable and unpublishable members and the longest chain (in crates)."""
    m = members(ws)
    pub = {n for n, (p, _) in m.items() if p}
    memo = {}

    def chain(n, stack=()):
        if n in stack:
            sys.exit(f"dependency cycle through {n}")
        if n not in memo:
            memo[n] = 1 + max((chain(d, stack + (n,)) for d in m[n][1] if d in pub), default=0)
        return memo[n]

    longest = max((chain(n) for n in pub), default=0)
    Path(out_json).write_text(json.dumps({
        "publishable": sorted(pub),
        "unpublishable": sorted(set(m) - pub),
        "chain": longest,
    }))
    print(len(m), len(pub), longest)


def index_path(name):
    n = name.lower()
    if len(n) <= 2:
        return f"{len(n)}/{n}"
    if len(n) == 3:
        return f"3/{n[0]}/{n}"
    return f"{n[:2]}/{n[2:4]}/{n}"


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""


def check_index(index, ws_json, version, grace_ms):
    """Every publishable crate served (200, with `version`); no unpublishable one."""
    base = index.removeprefix("sparse+").rstrip("/")
    info = json.loads(Path(ws_json).read_text())

    def missing():
        bad = []
        for name in info["publishable"]:
            status, body = fetch(f"{base}/{index_path(name)}")
            vers = set()
            for line in body.splitlines():
                if line.strip():
                    vers.add(json.loads(line).get("vers"))
            if status != 200 or version not in vers:
                bad.append(f"{name} (HTTP {status}, versions {sorted(vers)})")
        return bad

    bad = missing()
    if bad:
        # Tell "late" from "never" before failing.
        deadline = time.monotonic() + grace_ms / 1000
        later = bad
        while later and time.monotonic() < deadline:
            time.sleep(0.2)
            later = missing()
        what = "appeared only later" if not later else f"still missing after {grace_ms} ms: {later}"
        sys.exit(f"{len(bad)} of {len(info['publishable'])} crates not in the index when the "
                 f"command returned: {bad}; {what}")
    extra = [n for n in info["unpublishable"] if fetch(f"{base}/{index_path(n)}")[0] != 404]
    if extra:
        sys.exit(f"publish = false crates are in the index: {extra}")
    print(len(info["publishable"]))


def check_noop(events, ws_json):
    """A rerun's JSON lines: no upload, every publishable crate skipped as
    already in the registry, outcome success."""
    info = json.loads(Path(ws_json).read_text())
    kinds, skipped, outcome = {}, set(), None
    for line in Path(events).read_text().splitlines():
        if not line.strip().startswith("{"):
            continue
        rec = json.loads(line)
        kind = rec.get("kind")
        kinds[kind] = kinds.get(kind, 0) + 1
        if kind == "skipped" and rec.get("reason") == "already_in_registry":
            skipped.add(rec.get("name"))
        if kind == "run_finished":
            outcome = rec.get("outcome")
    uploads = {k: v for k, v in kinds.items() if "upload" in str(k)}
    if uploads:
        sys.exit(f"the rerun uploaded: {uploads}")
    want = set(info["publishable"])
    if skipped != want:
        sys.exit(f"the rerun skipped {len(skipped)} crates as already in the registry, "
                 f"expected {len(want)}; missing {sorted(want - skipped)[:10]}; events {kinds}")
    if outcome != "success":
        sys.exit(f"the rerun finished with outcome {outcome!r}, not 'success'; events {kinds}")
    print(len(skipped))


def unpublishable(ws_json):
    print(" ".join(json.loads(Path(ws_json).read_text())["unpublishable"]))


def report(times, meta, markdown):
    meta = json.loads(Path(meta).read_text())
    samples = {}
    for line in Path(times).read_text().splitlines():
        name, usec = line.split()
        samples.setdefault(name, []).append(int(usec) / 1e6)

    def s(x):
        return f"{x:.2f} s"

    def stats(name):
        t = samples.get(name, [])
        return statistics.median(t), min(t), max(t), len(t)

    def row(label, name):
        med, lo, hi, n = stats(name)
        print(f"  {label:<38} median {s(med):>9}   min {s(lo):>9}   max {s(hi):>9}   ({n} run{'s' * (n != 1)})")

    def goal(ok):
        return "met" if ok else "MISSED"

    m = meta
    print(f"binary: {m['shipper']} (commit {m['commit']}); cargo {m['cargo']}; nproc {m['nproc']}")
    out = {}
    if "shipper" in samples:
        print(f"workspace: {m['crates']} crates ({m['publishable']} publishable), {m['levels']} levels, "
              f"longest chain {m['chain']} crates")
        print(f"registry: upload latency {m['upload_ms']} ms, propagation delay {m['propagation_ms']} ms; "
              f"shipper --uploads-in-flight {m['jobs']}")
        row("shipper publish", "shipper")
        row("cargo publish --workspace", "cargo")
        row("verify (cargo package --workspace)", "verify")
        shipper, cargo, verify = stats("shipper")[0], stats("cargo")[0], stats("verify")[0]
        bound = m["chain"] * (m["upload_ms"] + m["propagation_ms"]) / 1000 + verify
        r_bound, r_cargo = shipper / bound, shipper / cargo
        print(f"  bound = {m['chain']} x ({m['upload_ms']} + {m['propagation_ms']}) ms + verify "
              f"{s(verify)} = {s(bound)}")
        print(f"  shipper / bound:                 {r_bound:.2f}x (goal <= 1.15: {goal(r_bound <= 1.15)})")
        print(f"  shipper / cargo publish --workspace: {r_cargo:.2f}x (goal <= 0.70: {goal(r_cargo <= 0.70)})")
        out = dict(shipper=shipper, cargo=cargo, bound=bound, r_bound=r_bound, r_cargo=r_cargo)
    if "noop" in samples:
        print(f"no-op rerun: {m['noop_crates']} crates ({m['noop_publishable']} publishable, all "
              f"already in the registry), {m['noop_levels']} levels")
        row("shipper publish --no-verify (rerun)", "noop")
        row("cargo metadata (anchor)", "metadata")
        noop, meta_t = stats("noop")[0], stats("metadata")[0]
        print(f"  rerun: {s(noop)} (goal < 2 s: {goal(noop < 2)}); rerun / cargo metadata: {noop / meta_t:.2f}x")
        out.update(noop=noop, metadata=meta_t)
    if markdown == "1":
        if "shipper" in out:
            print()
            print("| date | commit | nproc | crates | levels | chain | upload + propagation | runs "
                  "| `shipper publish` | `cargo publish --workspace` | bound | shipper / bound | shipper / cargo |")
            print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
            print(f"| {m['date']} | {m['commit']} | {m['nproc']} | {m['crates']} | {m['levels']} | {m['chain']} "
                  f"| {m['upload_ms']} + {m['propagation_ms']} ms | {stats('shipper')[3]} | {s(out['shipper'])} "
                  f"| {s(out['cargo'])} | {s(out['bound'])} | {out['r_bound']:.2f}x | {out['r_cargo']:.2f}x |")
        if "noop" in out:
            print()
            print("| date | commit | nproc | crates | levels | runs | no-op `shipper publish` | `cargo metadata` |")
            print("|---|---|---:|---:|---:|---:|---:|---:|")
            print(f"| {m['date']} | {m['commit']} | {m['nproc']} | {m['noop_crates']} | {m['noop_levels']} "
                  f"| {stats('noop')[3]} | {s(out['noop'])} | {s(out['metadata'])} |")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"serve-info": serve_info, "workspace": workspace, "check-index": lambda i, w, v, g: check_index(i, w, v, int(g)),
     "check-noop": check_noop, "unpublishable": unpublishable, "report": report}[cmd](*args)
PY

# --- the binary ----------------------------------------------------------------
# Sets $shipper to an absolute path of a built binary (builds first unless --no-build).
# shellcheck source=scripts/lib-bench.sh
source "$root/scripts/lib-bench.sh"
resolve_shipper

# The contenders run without the caller's target-dir and wrapper settings, so
# each builds into its own workspace copy and none reuses another's output.
clean_env=(env -u CARGO_TARGET_DIR -u CARGO_BUILD_TARGET_DIR -u RUSTC_WRAPPER
    -u CARGO_BUILD_RUSTC_WRAPPER -u RUSTC_WORKSPACE_WRAPPER -u CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER
    -u CARGO_REGISTRY_TOKEN -u CARGO_REGISTRY_DEFAULT)

# --- registries and contenders ---------------------------------------------------
# start_registry DIR PROPAGATION_MS UPLOAD_MS: serve a fresh registry from
# DIR/registry; sets reg_pid, reg_index, reg_token.
start_registry() {
    local dir=$1 prop=$2 up=$3 tok i
    tok=bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    mkdir -p -- "$dir"
    "$shipper" shipper registry serve --root "$dir/registry" --message-format json --token "$tok" \
        --propagation-delay-ms "$prop" --upload-latency-ms "$up" \
        >"$dir/serve.out" 2>"$dir/serve.err" </dev/null &
    reg_pid=$!
    reg_pids+=("$reg_pid")
    for ((i = 0; i < 1200; i++)); do # 60 s
        if [[ -s $dir/serve.out ]] && [[ $(tail -c1 -- "$dir/serve.out" | od -An -tx1) == *0a* ]]; then
            break
        fi
        if ! kill -0 "$reg_pid" 2>/dev/null; then
            cat -- "$dir/serve.err" >&2
            die "the registry exited before its start-up message ($dir)"
        fi
        sleep 0.05
    done
    [[ -s $dir/serve.out ]] || die "no start-up message from the registry after 60 s ($dir)"
    local info
    info=$(python3 "$helper" serve-info "$dir/serve.out") ||
        die "cannot read the registry's start-up message: $(head -c 500 -- "$dir/serve.out")"
    read -r reg_index _ reg_token <<<"$info"
    [[ $reg_token == "$tok" ]] || die "the registry reports token '$reg_token', not the one given"
}

# stop_registry PID DIR: SIGINT, expect exit status 0.
stop_registry() {
    local pid=$1 dir=$2 rc=0 p keep_pids=()
    stop_pid "$pid" || rc=$?
    for p in "${reg_pids[@]}"; do [[ $p == "$pid" ]] || keep_pids+=("$p"); done
    reg_pids=("${keep_pids[@]}")
    ((rc == 0)) || { tail -n 20 -- "$dir/serve.err" >&2; die "the registry ($dir) exited with status $rc on SIGINT"; }
}

# make_cargo_home DIR INDEX: DIR/cargo-home/config.toml for registry `bench`.
make_cargo_home() {
    mkdir -p -- "$1/cargo-home"
    cat >"$1/cargo-home/config.toml" <<EOF
[registries.bench]
index = "$2"

[source.crates-io]
replace-with = "bench"
EOF
}

# timed VAR LOG CMD...: run CMD (stdout and stderr to LOG), wall time in µs
# to VAR; on failure show the log's tail and die.
timed() {
    local var=$1 log=$2 t0 t1 rc=0
    shift 2
    t0=${EPOCHREALTIME/[.,]/}
    "$@" >"$log" 2>&1 </dev/null || rc=$?
    t1=${EPOCHREALTIME/[.,]/}
    if ((rc != 0)); then
        tail -n 30 -- "$log" >&2
        die "failed (exit $rc): $* (log: $log)"
    fi
    printf -v "$var" '%s' $((10#$t1 - 10#$t0))
}

secs() { printf '%d.%02d s' $(($1 / 1000000)) $(($1 % 1000000 / 10000)); }

# gen_workspace DIR CRATES LEVELS JSON: generate, write Cargo.lock, describe.
gen_workspace() {
    local dir=$1 n=$2 l=$3 json=$4
    python3 "$script_dir/gen-workspace.py" --out "$dir" --crates "$n" --levels "$l" --seed "$seed" >&2
    # Cargo.lock up front (path dependencies only, nothing to fetch), so every
    # copy starts from the same lock file.
    cargo generate-lockfile --offline --manifest-path "$dir/Cargo.toml" >&2 ||
        die "cargo generate-lockfile failed on the generated workspace ($dir)"
    python3 "$helper" workspace "$dir" "$json"
}

times=$scratch/times.txt
: >"$times"

# run_contender KIND ROUND: fresh copy, CARGO_HOME, registry; time; check.
run_contender() {
    local kind=$1 round=$2 dir ws usec
    dir=$scratch/run$round-$kind
    ws=$dir/ws
    mkdir -p -- "$dir"
    cp -a -- "$gen" "$ws"
    start_registry "$dir" "$propagation_ms" "$upload_ms"
    make_cargo_home "$dir" "$reg_index"
    local env=("${clean_env[@]}" CARGO_HOME="$dir/cargo-home" CARGO_REGISTRIES_BENCH_TOKEN="$reg_token")
    local cmd
    case $kind in
        shipper) cmd=("$shipper" shipper publish --registry bench --allow-dirty --uploads-in-flight "$jobs" --manifest-path "$ws/Cargo.toml") ;;
        cargo) cmd=(cargo publish --workspace --registry bench --allow-dirty --manifest-path "$ws/Cargo.toml") ;;
        verify) cmd=(cargo package --workspace "${exclude[@]}" --registry bench --allow-dirty --manifest-path "$ws/Cargo.toml") ;;
    esac
    note "run $round/$runs: $kind: ${cmd[*]}"
    timed usec "$dir/$kind.log" "${env[@]}" "${cmd[@]}"
    if [[ $kind != verify ]]; then
        python3 "$helper" check-index "$reg_index" "$ws_json" 0.1.0 $((propagation_ms + 5000)) >/dev/null ||
            die "$kind: the registry does not serve every publishable crate (log: $dir/$kind.log)"
    fi
    stop_registry "$reg_pid" "$dir"
    note "run $round/$runs: $kind: $(secs "$usec")"
    echo "$kind $usec" >>"$times"
    if ((!keep)); then rm -rf -- "$dir"; fi
}

# --- publish: shipper, cargo, verify ------------------------------------------
gen=$scratch/gen
ws_json=$scratch/gen.json
desc=$(gen_workspace "$gen" "$crates" "$levels" "$ws_json")
read -r n_members n_publishable chain <<<"$desc"
((n_members == crates)) || die "expected $crates members, found $n_members"
note "workspace: $n_members crates, $n_publishable publishable, longest chain $chain crates"
# `cargo package --workspace` packages (and verifies) `publish = false` members
# too; the publishers do not, so the verify step leaves them out.
exclude=()
for name in $(python3 "$helper" unpublishable "$ws_json"); do exclude+=(--exclude "$name"); done

contenders=(shipper cargo verify)
for ((r = 1; r <= runs; r++)); do
    for ((k = 0; k < 3; k++)); do
        run_contender "${contenders[(k + r - 1) % 3]}" "$r"
    done
done

# --- no-op rerun -------------------------------------------------------------------
noop_publishable=0
if ((noop)); then
    ndir=$scratch/noop
    nws=$ndir/ws
    mkdir -p -- "$ndir"
    desc=$(gen_workspace "$nws" "$noop_crates" "$noop_levels" "$ndir/ws.json")
    read -r _ noop_publishable _ <<<"$desc"
    start_registry "$ndir" 0 0
    noop_pid=$reg_pid
    make_cargo_home "$ndir" "$reg_index"
    nenv=("${clean_env[@]}" CARGO_HOME="$ndir/cargo-home" CARGO_REGISTRIES_BENCH_TOKEN="$reg_token")
    first=("$shipper" shipper publish --registry bench --allow-dirty --no-verify --uploads-in-flight "$jobs"
        --manifest-path "$nws/Cargo.toml")
    rerun=("${first[@]}" --message-format json)
    meta=(cargo metadata --format-version 1 --manifest-path "$nws/Cargo.toml")
    note "no-op: first publish of $noop_publishable crates: ${first[*]}"
    timed usec "$ndir/first.log" "${nenv[@]}" "${first[@]}"
    note "no-op: first publish took $(secs "$usec") (not reported)"
    python3 "$helper" check-index "$reg_index" "$ndir/ws.json" 0.1.0 5000 >/dev/null ||
        die "no-op: the first publish did not put every publishable crate in the registry"
    note "no-op: warm-up: ${rerun[*]}"
    timed usec "$ndir/rerun-warmup.log" "${nenv[@]}" "${rerun[@]}"
    timed usec "$ndir/metadata-warmup.log" "${nenv[@]}" "${meta[@]}"
    for ((r = 1; r <= runs; r++)); do
        order=(noop metadata)
        ((r % 2)) || order=(metadata noop)
        for kind in "${order[@]}"; do
            if [[ $kind == noop ]]; then
                timed usec "$ndir/rerun-$r.log" "${nenv[@]}" "${rerun[@]}"
                python3 "$helper" check-noop "$ndir/rerun-$r.log" "$ndir/ws.json" >/dev/null ||
                    die "no-op: rerun $r did not skip every crate (log: $ndir/rerun-$r.log)"
            else
                timed usec "$ndir/metadata-$r.log" "${nenv[@]}" "${meta[@]}"
            fi
            note "no-op run $r/$runs: $kind: $(secs "$usec")"
            echo "$kind $usec" >>"$times"
        done
    done
    stop_registry "$noop_pid" "$ndir"
fi

# --- report ----------------------------------------------------------------------
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ $commit != unknown ]] && [[ -n $(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null) ]]; then
    commit="$commit-dirty"
fi
cat >"$scratch/meta.json" <<EOF
{"date": "$(date -u +%Y-%m-%d)", "commit": "$commit", "nproc": $(nproc),
 "cargo": "$(cargo --version | awk '{print $2}')", "shipper": $(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$shipper"),
 "crates": $crates, "levels": $levels, "publishable": $n_publishable, "chain": $chain,
 "upload_ms": $upload_ms, "propagation_ms": $propagation_ms, "jobs": $jobs,
 "noop_crates": $noop_crates, "noop_levels": $noop_levels, "noop_publishable": $noop_publishable}
EOF
python3 "$helper" report "$times" "$scratch/meta.json" "$markdown"
