# Shared by the benchmark scripts: find (and unless told otherwise, build)
# the cargo-shipper binary. Expects $root, $build, $shipper (may be empty)
# and the functions note and die from the sourcing script.

resolve_shipper() {
    if [[ -z $shipper ]]; then
        target_dir=${CARGO_TARGET_DIR:-target}
        [[ $target_dir == /* ]] || target_dir=$root/$target_dir
        shipper=$target_dir/release/cargo-shipper
    fi
    [[ $shipper == */* ]] || shipper=./$shipper
    if [[ -d $(dirname -- "$shipper") ]]; then
        shipper=$(cd -- "$(dirname -- "$shipper")" && pwd)/$(basename -- "$shipper")
    fi

    if ((build)); then
        note "building cargo-shipper: cargo build --release --locked (in $root)"
        (cd -- "$root" && cargo build --release --locked) >&2
    fi
    if [[ ! -x $shipper || -d $shipper ]]; then
        hint=""
        ((build)) || hint=" (run without --no-build, or point --shipper at a binary)"
        die "cargo-shipper binary not found at $shipper$hint"
    fi
    case $shipper in
        */debug/*) note "warning: timing a debug build ($shipper); numbers are not comparable to release" ;;
    esac
    if ((!build)); then
        newer=$(cd -- "$root" && { find src Cargo.toml Cargo.lock -type f -newer "$shipper" -print -quit 2>/dev/null || true; })
        [[ -z $newer ]] || note "warning: $newer is newer than $shipper; the binary may be stale"
    fi
}
