#!/usr/bin/env bash
# The install step of the GitHub Action (action.yml): puts a cargo-shipper
# binary on the runner and says where, in three ways, first that works:
#
#   1. SHIPPER_BINARY: a binary already on the machine (built earlier in the
#      job, or a test's); used as it is.
#   2. SHIPPER_INSTALL_ROOT/bin/cargo-shipper of the wanted version (restored
#      from the cache by the action's cache step): used as it is.
#   3. The prebuilt binary of the release v<version> for this runner
#      (cargo-shipper-<target>-v<version>.tar.gz under SHIPPER_RELEASES),
#      checked against its published .sha256 before it is unpacked.
#   4. Otherwise (no release yet, or none for this target): built from
#      source with `cargo install --locked`, from the action's own checkout
#      when it is that version, else from crates.io.
#
# `install.sh resolve` only works out the version, the target triple and a
# digest of the action's sources (for the cache key) and prints them as
# `key=value` lines (to GITHUB_OUTPUT when set). `install.sh` installs and
# writes `bin` (the binary's path) and `source` (binary, cache, release,
# build) the same way, and adds the binary's directory to GITHUB_PATH.
#
# Environment: SHIPPER_VERSION (empty: the version of the action's
# checkout), SHIPPER_ACTION_PATH (the action's checkout, default: this
# script's repository), SHIPPER_BINARY, SHIPPER_INSTALL_ROOT (default:
# $RUNNER_TEMP/cargo-shipper/<version>), SHIPPER_RELEASES (default: the
# GitHub releases of cargo-shipper/cargo-shipper; a file:// URL works too),
# SHIPPER_TARGET (default: this machine's).
set -euo pipefail

action_path=${SHIPPER_ACTION_PATH:-$(cd "$(dirname "$0")/../.." && pwd)}
releases=${SHIPPER_RELEASES:-https://github.com/cargo-shipper/cargo-shipper/releases/download}

die() {
  echo "::error title=cargo-shipper install::$*" >&2
  exit 1
}

# `key=value` for the action's outputs (and for a person reading the log).
output() {
  echo "$1=$2"
  if [ -n "${GITHUB_OUTPUT:-}" ]; then echo "$1=$2" >>"$GITHUB_OUTPUT"; fi
}

# The version in the action's own Cargo.toml ([package] comes first there).
checkout_version() {
  sed -n 's/^version = "\([^"]*\)".*/\1/p' "$action_path/Cargo.toml" | head -n 1
}

wanted_version() {
  local v=${SHIPPER_VERSION:-}
  v=${v#v}
  if [ -z "$v" ]; then v=$(checkout_version); fi
  [ -n "$v" ] || die "no version given and none found in $action_path/Cargo.toml"
  case "$v" in
    *[!0-9A-Za-z.+-]*) die "\`$v\` is not a version (give one such as 0.1.0)" ;;
  esac
  echo "$v"
}

# The Rust target triple of the prebuilt binary for this runner.
target_triple() {
  if [ -n "${SHIPPER_TARGET:-}" ]; then
    echo "$SHIPPER_TARGET"
    return
  fi
  local os arch
  os=${RUNNER_OS:-$(uname -s)}
  arch=${RUNNER_ARCH:-$(uname -m)}
  case "$arch" in
    X64 | x86_64 | amd64) arch=x86_64 ;;
    ARM64 | aarch64 | arm64) arch=aarch64 ;;
    *) arch=unknown ;;
  esac
  case "$os" in
    Linux) echo "$arch-unknown-linux-gnu" ;;
    macOS | Darwin) echo "$arch-apple-darwin" ;;
    Windows | MINGW* | MSYS* | CYGWIN*) echo "$arch-pc-windows-msvc" ;;
    *) echo "$arch-unknown-$os" ;;
  esac
}

exe_suffix() {
  case "$1" in *-windows-*) echo .exe ;; *) echo "" ;; esac
}

# A digest of the sources a build from the checkout would compile: the cache
# key changes when they do, even under the same version.
source_digest() {
  (
    cd "$action_path"
    find Cargo.toml Cargo.lock src -type f 2>/dev/null | LC_ALL=C sort | while IFS= read -r file; do
      echo "$file"
      cat "$file"
    done
  ) | sha256_of - | cut -c1-16
}

# The sha256 of file $1 (`-`: standard input); sha256sum on Linux and
# Windows' Git Bash, shasum on macOS.
sha256_of() {
  if command -v sha256sum >/dev/null; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

# Whether `$1 shipper --version` says `cargo-shipper $2` (then, maybe, more).
is_version() {
  [ -x "$1" ] || return 1
  case "$("$1" shipper --version 2>/dev/null || true)" in
    "cargo-shipper $2" | "cargo-shipper $2 "*) return 0 ;;
    *) return 1 ;;
  esac
}

# Download release asset $1 into $2; 1 when the release has no such asset.
fetch() {
  local code
  if code=$(curl -sSL --retry 3 -o "$2" -w '%{http_code}' "$releases/$1"); then
    case "$code" in 2?? | 000) return 0 ;; esac
  fi
  return 1
}

install_release() {
  local version=$1 target=$2 root=$3
  local asset="cargo-shipper-$target-v$version.tar.gz"
  local tmp
  tmp=$(mktemp -d)
  if ! fetch "v$version/$asset" "$tmp/$asset"; then
    echo "No prebuilt binary at $releases/v$version/$asset"
    rm -rf "$tmp"
    return 1
  fi
  fetch "v$version/$asset.sha256" "$tmp/$asset.sha256" ||
    die "the release v$version has $asset but not $asset.sha256: refusing an unchecked binary"
  local want got
  want=$(cut -d' ' -f1 <"$tmp/$asset.sha256")
  got=$(sha256_of "$tmp/$asset")
  [ "$want" = "$got" ] || die "$asset does not match its published sha256 (expected $want, got $got)"
  mkdir -p "$root/bin"
  tar -xzf "$tmp/$asset" -C "$tmp"
  local exe
  exe="cargo-shipper$(exe_suffix "$target")"
  [ -f "$tmp/cargo-shipper-$target-v$version/$exe" ] || die "$asset holds no cargo-shipper-$target-v$version/$exe"
  mv "$tmp/cargo-shipper-$target-v$version/$exe" "$root/bin/$exe"
  chmod +x "$root/bin/$exe"
  rm -rf "$tmp"
  echo "Installed the prebuilt cargo-shipper $version ($target), sha256 $got"
}

install_build() {
  local version=$1 root=$2
  command -v cargo >/dev/null ||
    die "no prebuilt binary for this runner and no cargo to build one: add a Rust toolchain step (e.g. dtolnay/rust-toolchain@stable) before this action"
  if [ "$(checkout_version)" = "$version" ]; then
    echo "Building cargo-shipper $version from the action's checkout (several minutes; cached afterwards)"
    cargo install --locked --root "$root" --path "$action_path"
  else
    echo "Building cargo-shipper $version from crates.io (several minutes; cached afterwards)"
    cargo install --locked --root "$root" cargo-shipper --version "=$version"
  fi
}

main() {
  local version target
  version=$(wanted_version)
  target=$(target_triple)
  if [ "${1:-}" = resolve ]; then
    output version "$version"
    output target "$target"
    output source-digest "$(source_digest)"
    return
  fi
  local bin source
  if [ -n "${SHIPPER_BINARY:-}" ]; then
    [ -f "$SHIPPER_BINARY" ] && [ -x "$SHIPPER_BINARY" ] ||
      die "\`$SHIPPER_BINARY\` (input binary) is not an executable file"
    # Absolute: the run step may run in another directory.
    bin="$(cd "$(dirname "$SHIPPER_BINARY")" && pwd)/$(basename "$SHIPPER_BINARY")"
    source=binary
  else
    local root=${SHIPPER_INSTALL_ROOT:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}/cargo-shipper/$version}
    bin="$root/bin/cargo-shipper$(exe_suffix "$target")"
    if is_version "$bin" "$version"; then
      source=cache
    elif install_release "$version" "$target" "$root"; then
      source=release
    else
      install_build "$version" "$root"
      source=build
    fi
    is_version "$bin" "$version" || die "$bin does not say it is cargo-shipper $version"
  fi
  if [ -n "${GITHUB_PATH:-}" ]; then dirname "$bin" >>"$GITHUB_PATH"; fi
  echo "$("$bin" shipper --version) ($source)"
  output bin "$bin"
  output source "$source"
}

main "$@"
