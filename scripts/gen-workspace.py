#!/usr/bin/env python3
"""Generate a hermetic Cargo workspace with a layered dependency DAG.

Used by scripts/bench-plan.sh (and other benchmarks) to get a reproducible
workspace of any size with no external dependencies:

* N crates named gen-c000 .. gen-cNNN (zero-padded), under crates/;
* L dependency levels: every crate on level l >= 1 depends on 1-4 crates from
  lower levels, at least one of them on level l-1, so the DAG has exactly L
  levels and no cycles;
* every path dependency carries `version = "0.1.0"` (registries require it);
  some are inherited from `[workspace.dependencies]` (`workspace = true`);
* a few crates have versioned dev-dependencies on lower-level crates (soft
  edges, never a cycle);
* a couple of top-level crates are `publish = false` (nothing depends on
  them, so the rest of the workspace stays publishable);
* every crate has a tiny src/lib.rs that calls its dependencies, so the
  workspace also builds (and the dev-dependencies are used by a unit test).

The output is a pure function of the arguments (fixed seed, default 42).
Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

MARKER = ".gen-workspace.json"
VERSION = "0.1.0"


@dataclass
class Crate:
    index: int
    name: str
    level: int
    deps: list[int] = field(default_factory=list)
    dev_deps: list[int] = field(default_factory=list)
    publish: bool = True
    explicit_version: bool = False

    @property
    def ident(self) -> str:
        return self.name.replace("-", "_")


def level_sizes(crates: int, levels: int) -> list[int]:
    """Split `crates` over `levels` as evenly as possible; the remainder goes
    to the lower levels (workspaces are wider at the bottom)."""
    base, extra = divmod(crates, levels)
    return [base + (1 if lvl < extra else 0) for lvl in range(levels)]


def build_graph(
    crates: int,
    levels: int,
    seed: int,
    unpublished: int,
    dev_dep_share: float,
    workspace_dep_share: float,
) -> tuple[list[Crate], set[int]]:
    rng = random.Random(seed)
    width = max(3, len(str(crates - 1)))
    sizes = level_sizes(crates, levels)

    graph: list[Crate] = []
    by_level: list[list[int]] = []
    for lvl, size in enumerate(sizes):
        ids = []
        for _ in range(size):
            i = len(graph)
            graph.append(Crate(index=i, name=f"gen-c{i:0{width}d}", level=lvl))
            ids.append(i)
        by_level.append(ids)

    # Normal dependencies: 1-4 from lower levels, one of them from level l-1.
    for lvl in range(1, levels):
        lower = [i for ids in by_level[:lvl] for i in ids]
        for i in by_level[lvl]:
            want = min(rng.randint(1, 4), len(lower))
            first = rng.choice(by_level[lvl - 1])
            others = [j for j in lower if j != first]
            graph[i].deps = sorted([first, *rng.sample(others, want - 1)])

    # `publish = false`: top-level crates only (nothing depends on them), and
    # at least one publishable crate stays on the top level.
    top = by_level[-1]
    unpublished = max(0, min(unpublished, len(top) - 1))
    for i in rng.sample(top, unpublished):
        graph[i].publish = False

    # Versioned dev-dependencies on lower-level crates that are not already
    # normal dependencies. Only downward, so no cycle can form.
    candidates = [c for c in graph if c.level >= 2 and c.publish]
    if candidates and dev_dep_share > 0:
        count = max(2, round(len(graph) * dev_dep_share))
        for c in rng.sample(candidates, min(count, len(candidates))):
            lower = [
                i
                for ids in by_level[: c.level]
                for i in ids
                if i not in c.deps
            ]
            if lower:
                c.dev_deps = sorted(rng.sample(lower, min(len(lower), rng.randint(1, 2))))

    # Some crates spell their version out instead of inheriting it.
    for c in graph:
        c.explicit_version = rng.random() < 0.2

    # `[workspace.dependencies]`: a share of the crates that something
    # depends on; their dependents inherit them with `workspace = true`.
    depended_on = sorted({j for c in graph for j in (*c.deps, *c.dev_deps)})
    inherited = {j for j in depended_on if rng.random() < workspace_dep_share}
    return graph, inherited


def dep_line(target: Crate, inherited: set[int]) -> str:
    if target.index in inherited:
        return f"{target.name} = {{ workspace = true }}"
    return f'{target.name} = {{ path = "../{target.name}", version = "{VERSION}" }}'


def crate_manifest(c: Crate, graph: list[Crate], inherited: set[int]) -> str:
    lines = [
        "[package]",
        f'name = "{c.name}"',
        f'version = "{VERSION}"' if c.explicit_version else "version.workspace = true",
        "edition.workspace = true",
        "license.workspace = true",
        "repository.workspace = true",
        "rust-version.workspace = true",
        f'description = "Generated benchmark crate {c.index} (level {c.level})"',
    ]
    if not c.publish:
        lines.append("publish = false")
    if c.deps:
        lines += ["", "[dependencies]"]
        lines += [dep_line(graph[j], inherited) for j in c.deps]
    if c.dev_deps:
        lines += ["", "[dev-dependencies]"]
        lines += [dep_line(graph[j], inherited) for j in c.dev_deps]
    return "\n".join(lines) + "\n"


def crate_lib(c: Crate, graph: list[Crate]) -> str:
    terms = [str(c.index)] + [f"{graph[j].ident}::value()" for j in c.deps]
    out = [
        f"//! Generated benchmark crate `{c.name}`, level {c.level}.",
        "",
        "pub fn value() -> u64 {",
        f"    {' + '.join(terms)}",
        "}",
    ]
    if c.dev_deps:
        calls = " + ".join(f"{graph[j].ident}::value()" for j in c.dev_deps)
        out += [
            "",
            "#[cfg(test)]",
            "mod tests {",
            "    #[test]",
            "    fn dev_dependencies_link() {",
            f"        assert!(super::value() + {calls} > 0);",
            "    }",
            "}",
        ]
    return "\n".join(out) + "\n"


def root_manifest(graph: list[Crate], inherited: set[int], args: argparse.Namespace) -> str:
    lines = [
        f"# Generated by scripts/gen-workspace.py --crates {args.crates} "
        f"--levels {args.levels} --seed {args.seed}; do not edit.",
        "[workspace]",
        'resolver = "3"',
        'members = ["crates/*"]',
        "",
        "[workspace.package]",
        f'version = "{VERSION}"',
        'edition = "2024"',
        'license = "MIT OR Apache-2.0"',
        'repository = "https://example.invalid/gen-workspace"',
        'rust-version = "1.85"',
    ]
    if inherited:
        lines += ["", "[workspace.dependencies]"]
        for j in sorted(inherited):
            name = graph[j].name
            lines.append(f'{name} = {{ path = "crates/{name}", version = "{VERSION}" }}')
    return "\n".join(lines) + "\n"


def check_acyclic(graph: list[Crate]) -> None:
    for c in graph:
        for j in (*c.deps, *c.dev_deps):
            if graph[j].level >= c.level:
                raise AssertionError(f"{c.name} -> {graph[j].name} does not point down")


def prepare_out(out: Path, force: bool) -> None:
    if out.exists():
        if not out.is_dir():
            sys.exit(f"gen-workspace: {out} exists and is not a directory")
        if any(out.iterdir()):
            if not (out / MARKER).is_file() and not force:
                sys.exit(
                    f"gen-workspace: {out} is not empty and was not generated by this script; "
                    "choose another --out (or pass --force to wipe it)"
                )
            shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description="Generate a hermetic Cargo workspace with a layered dependency DAG.",
    )
    p.add_argument("--out", required=True, type=Path, help="output directory (replaced if generated before)")
    p.add_argument("--crates", type=int, default=300, help="number of crates (default 300)")
    p.add_argument("--levels", type=int, default=9, help="dependency levels (default 9)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument("--unpublished", type=int, default=2, help="top-level `publish = false` crates (default 2)")
    p.add_argument(
        "--dev-dep-share", type=float, default=0.05,
        help="share of crates with versioned dev-dependencies (default 0.05, at least 2)",
    )
    p.add_argument(
        "--workspace-dep-share", type=float, default=0.4,
        help="share of depended-on crates listed in [workspace.dependencies] (default 0.4)",
    )
    p.add_argument("--force", action="store_true", help="wipe a non-empty --out even if not generated here")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    args = p.parse_args(argv)

    if args.levels < 1:
        p.error("--levels must be at least 1")
    if args.crates < args.levels:
        p.error(f"--crates ({args.crates}) must be at least --levels ({args.levels})")

    graph, inherited = build_graph(
        args.crates, args.levels, args.seed, args.unpublished,
        args.dev_dep_share, args.workspace_dep_share,
    )
    check_acyclic(graph)

    out = args.out.resolve()
    prepare_out(out, args.force)
    (out / "Cargo.toml").write_text(root_manifest(graph, inherited, args))
    for c in graph:
        d = out / "crates" / c.name
        (d / "src").mkdir(parents=True)
        (d / "Cargo.toml").write_text(crate_manifest(c, graph, inherited))
        (d / "src" / "lib.rs").write_text(crate_lib(c, graph))

    summary = {
        "crates": len(graph),
        "levels": args.levels,
        "seed": args.seed,
        "level_sizes": level_sizes(args.crates, args.levels),
        "dependency_edges": sum(len(c.deps) for c in graph),
        "dev_dependency_edges": sum(len(c.dev_deps) for c in graph),
        "workspace_dependencies": len(inherited),
        "inheriting_edges": sum(
            1 for c in graph for j in (*c.deps, *c.dev_deps) if j in inherited
        ),
        "unpublished": [c.name for c in graph if not c.publish],
        "publishable": sum(1 for c in graph if c.publish),
    }
    (out / MARKER).write_text(json.dumps(summary, indent=2) + "\n")
    (out / ".gitignore").write_text("/target\n")
    if not args.quiet:
        print(
            f"gen-workspace: {summary['crates']} crates, {summary['levels']} levels "
            f"{summary['level_sizes']}, {summary['dependency_edges']} dependency edges, "
            f"{summary['dev_dependency_edges']} dev-dependency edges, "
            f"{summary['workspace_dependencies']} [workspace.dependencies] "
            f"({summary['inheriting_edges']} inheriting edges), "
            f"publish = false: {', '.join(summary['unpublished']) or 'none'} -> {out}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
