#!/usr/bin/env bash
# The run step of the GitHub Action (action.yml): runs one cargo-shipper
# command in the current directory (the action's working-directory) with
# the state directory the action restores and saves, and turns its exit
# code into the step's outputs and a line of the job summary:
#
#   verdict    what the command's exit code means (see `verdict` below)
#   exit-code  the command's exit code
#   receipt    absolute path of the receipt this run wrote (publish, resume:
#              receipt.json; rehearse: rehearsal.json), empty when none
#   continue   `true` when the run stopped for later (`--stop-after`, exit
#              8): run the same step again with the saved state
#
# A stop for later is not a failure: the step succeeds. Every other
# non-zero exit fails the step with the command's code, after the outputs
# are written. Nothing secret passes through here: tokens come from the
# environment the way cargo reads them (or trusted publishing mints them
# inside cargo-shipper), and a `--token` value in the arguments is masked.
#
# Environment: SHIPPER_BIN (the binary, from the install step; default
# `cargo-shipper` on PATH), SHIPPER_COMMAND, SHIPPER_ARGS (split on
# whitespace, or one argument a line when it has several lines; never
# evaluated by a shell), SHIPPER_STATE_DIR (default `.shipper`).
set -euo pipefail

bin=${SHIPPER_BIN:-cargo-shipper}
command=${SHIPPER_COMMAND:-}
state_dir=${SHIPPER_STATE_DIR:-.shipper}

die() {
  echo "::error title=cargo-shipper::$*" >&2
  exit 2
}

output() {
  echo "$1=$2"
  if [ -n "${GITHUB_OUTPUT:-}" ]; then echo "$1=$2" >>"$GITHUB_OUTPUT"; fi
}

case "$command" in
  plan | preflight | rehearse | publish | resume | status | yank) ;;
  "") die "the input \`command\` is empty: give one of plan, preflight, rehearse, publish, resume, status, yank" ;;
  *) die "\`$command\` is not a command the action runs: give one of plan, preflight, rehearse, publish, resume, status, yank" ;;
esac

# The arguments, without a shell's evaluation (no quotes, globs or `$`).
args=()
if [[ ${SHIPPER_ARGS:-} == *$'\n'* ]]; then
  while IFS= read -r line; do
    line=${line#"${line%%[![:space:]]*}"}
    line=${line%"${line##*[![:space:]]}"}
    if [ -n "$line" ]; then args+=("$line"); fi
  done <<<"$SHIPPER_ARGS"
else
  read -r -a args <<<"${SHIPPER_ARGS:-}"
fi

# The commands that keep state take the action's state directory, unless
# the arguments name one themselves.
case "$command" in
  rehearse | publish | resume | status | yank)
    given=false
    for a in "${args[@]+"${args[@]}"}"; do
      case "$a" in --state-dir | --state-dir=*) given=true ;; esac
    done
    if [ "$given" = false ]; then args+=(--state-dir "$state_dir"); fi
    ;;
esac

# The command line as shown in the log, a token's value masked.
shown=()
mask=false
for a in "${args[@]+"${args[@]}"}"; do
  if [ "$mask" = true ]; then
    shown+=("***")
    mask=false
    continue
  fi
  case "$a" in
    --token) mask=true ;;
    --token=*) a="--token=***" ;;
  esac
  shown+=("$a")
done
echo "cargo shipper $command ${shown[*]+"${shown[*]}"}"

# The receipts there are, each with its digest: one that is new or changed
# after the command was written by it (a receipt records when it was made).
candidates() {
  case "$command" in
    publish | resume) for dir in "$state_dir/current" "$state_dir"/archive/*; do echo "$dir/receipt.json"; done ;;
    rehearse) echo "$state_dir/rehearsal.json" ;;
  esac
}
fingerprints() {
  candidates | while IFS= read -r file; do
    if [ -f "$file" ]; then
      if command -v sha256sum >/dev/null; then sha256sum "$file"; else shasum -a 256 "$file"; fi
    fi
  done
}
before=$(fingerprints)

set +e
"$bin" shipper "$command" "${args[@]+"${args[@]}"}"
code=$?
set -e

# What the exit code says, per command (docs/reference/cli.md, exit codes).
verdict() {
  case "$command:$1" in
    publish:0 | resume:0) echo published ;;
    preflight:0) echo ready ;;
    rehearse:0) echo passed ;;
    yank:0) echo "done" ;;
    plan:0 | status:0) echo ok ;;
    publish:8 | resume:8 | yank:8) echo stopped-for-later ;;
    publish:4 | resume:4 | yank:4) echo partial ;;
    publish:5 | resume:5) echo needs-operator ;;
    publish:9 | resume:9) echo content-differs ;;
    preflight:7) echo blocked ;;
    *:130) echo interrupted ;;
    *) echo failed ;;
  esac
}
result=$(verdict "$code")

receipt=""
while IFS= read -r line; do
  if [ -n "$line" ] && ! grep -qxF -- "$line" <<<"$before"; then
    receipt=${line#*  }
  fi
done <<<"$(fingerprints)"
if [ -n "$receipt" ]; then
  receipt="$(cd "$(dirname "$receipt")" && pwd)/$(basename "$receipt")"
fi

output verdict "$result"
output exit-code "$code"
output receipt "$receipt"
if [ "$result" = stopped-for-later ]; then output continue true; else output continue false; fi

if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  {
    echo
    printf '**cargo shipper %s**: %s (exit %s)' "$command" "$result" "$code"
    if [ "$result" = stopped-for-later ]; then
      printf '; the next run of this step continues from the saved state directory'
    fi
    # shellcheck disable=SC2016 # the backquotes are Markdown's
    if [ -n "$receipt" ]; then printf '; receipt: `%s`' "$receipt"; fi
    echo
  } >>"$GITHUB_STEP_SUMMARY"
fi

if [ "$code" -eq 8 ] && [ "$result" = stopped-for-later ]; then exit 0; fi
exit "$code"
