#!/usr/bin/env bash
# Chaos run: kill the publisher at random moments, many seeds. See --help.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/chaos.sh SEEDS [OPTIONS]

For each of SEEDS seeds: a generated workspace of six crates (a diamond, a
tail, a lone root), the embedded registry with 150 ms upload latency and
300 ms index propagation, the publisher (`cargo-shipper shipper publish`,
in its own process group) signalled at a random moment KILLS times (each
time after a random number of journal events plus a random sliver of up
to 200 ms), then run to the end. Checked from the registry's side: each
crate stored exactly once, with the checksum the journal recorded; zero
uploads of versions the registry already held (its own count); every
journal (each archived run) parses and projects to its state.json.
Prints a line per seed and a summary; exits non-zero on any violation.

This is tests/suite/chaos.rs with the seed count raised; CI runs it with 3 seeds.

Options:
  --kills K         signals per seed (default 4)
  --signal SIG      KILL (default), INT or TERM (graceful: exit 130 checked,
                    the slowest stop reported)
  --first-seed S    first seed (default 0)
  --release         build and run the test in release mode
  -h, --help        show this help
EOF
}

die() {
    echo "chaos: error: $*" >&2
    exit 1
}

[[ $# -ge 1 ]] || { usage >&2; exit 2; }
case $1 in -h | --help) usage; exit 0 ;; esac
seeds=$1
shift
kills=4 signal=KILL first=0 profile=()
while [[ $# -gt 0 ]]; do
    case $1 in
        --kills) kills=${2:?--kills needs a value}; shift 2 ;;
        --signal) signal=${2:?--signal needs a value}; shift 2 ;;
        --first-seed) first=${2:?--first-seed needs a value}; shift 2 ;;
        --release) profile=(--release); shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
[[ $seeds =~ ^[0-9]+$ ]] && ((seeds >= 1)) || die "SEEDS must be a positive integer, got '$seeds'"
[[ $kills =~ ^[0-9]+$ ]] && ((kills >= 1)) || die "--kills must be a positive integer, got '$kills'"
[[ $first =~ ^[0-9]+$ ]] || die "--first-seed must be a non-negative integer, got '$first'"
case $signal in KILL | INT | TERM) ;; *) die "--signal must be KILL, INT or TERM, got '$signal'" ;; esac

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd -- "$root"
log=$(mktemp "${TMPDIR:-/tmp}/chaos.XXXXXX")
trap 'rm -f -- "$log"' EXIT
rc=0
CHAOS_SEEDS=$seeds CHAOS_KILLS=$kills CHAOS_SIGNAL=$signal CHAOS_FIRST_SEED=$first \
    cargo test --locked "${profile[@]}" --test suite chaos:: -- --nocapture --test-threads 1 >"$log" 2>&1 || rc=$?
grep -E '^chaos:|panicked|test result|^error' "$log" || true
((rc == 0)) || { tail -n 30 -- "$log" >&2; die "a check failed (exit $rc)"; }
