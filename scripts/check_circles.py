#!/usr/bin/env python3
"""Finds import circles between the modules of a Rust crate.

    python3 scripts/check_circles.py SRC_DIR [SRC_DIR ...]

A module is a file (`a/b.rs` or `a/b/mod.rs` is `a::b`); a module uses
another when its code (comments and `#[cfg(test)] mod tests` left out)
names it by a `crate::…` or `super::…` path. Within each folder, modules
that use each other in a circle (directly or through others of the same
folder) are printed with the path that closes the circle, and the exit
status is 1. A submodule counts as part of its parent folder's module
(`engine/cluster/relay.rs` is `engine::cluster` seen from `engine/`).
"""

import re
import sys
from pathlib import Path

PATH = re.compile(r"\b(crate|super)((?:::[a-z_][a-z0-9_]*)+)")


def module_of(src: Path, f: Path) -> list:
    parts = list(f.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return parts


def code(f: Path) -> str:
    text = f.read_text()
    # Unit tests may use anything of their module's parent.
    text = re.sub(r"#\[cfg\(test\)\]\s*mod tests \{.*", "", text, flags=re.S)
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def uses(src: Path, f: Path) -> set:
    me = module_of(src, f)
    out = set()
    for root, path in PATH.findall(code(f)):
        names = path.strip(":").split("::")
        if root == "crate":
            out.add(tuple(names))
        else:
            # `super::x` from module a::b::c is a::b::x (from a mod.rs, its
            # own parent's sibling).
            base = me[:-1]
            while names and names[0] == "super":
                names = names[1:]
                base = base[:-1]
            out.add(tuple(base + names))
    return out


def circles(src: Path) -> list:
    files = sorted(src.rglob("*.rs"))
    found = []
    # Every folder: the graph of its direct children.
    folders = {tuple(module_of(src, f)[:-1]) for f in files if module_of(src, f)} | {()}
    for folder in sorted(folders):
        depth = len(folder)
        graph = {}
        for f in files:
            m = module_of(src, f)
            if len(m) <= depth or tuple(m[:depth]) != folder:
                continue
            child = m[depth]
            edges = graph.setdefault(child, set())
            for used in uses(src, f):
                if len(used) > depth and used[:depth] == folder and used[depth] != child:
                    edges.add(used[depth])
        graph = {k: {v for v in vs if v in graph} for k, vs in graph.items()}
        found.extend(("::".join(folder) or "crate", c) for c in cycles(graph))
    return found


def cycles(graph: dict) -> list:
    """One circle per strongly connected component with more than one
    module (Tarjan), as a path that returns to its start."""
    index, low, stack, on, comps = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    out = []
    for comp in comps:
        # A path around the circle, from its first module.
        start, members = comp[0], set(comp)
        path, seen = [start], {start}
        while True:
            nxt = sorted(w for w in graph[path[-1]] if w in members)
            back = [w for w in nxt if w == start]
            if back and len(path) > 1:
                path.append(start)
                break
            step = next((w for w in nxt if w not in seen), None)
            if step is None:
                path.append(nxt[0] if nxt else start)
                break
            path.append(step)
            seen.add(step)
        out.append(" -> ".join(path))
    return out


def self_test() -> None:
    """A crate with a circle through three modules, one through `super::`
    and a test module that may use anything, is found; without the circle,
    nothing is."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        src = Path(d)
        (src / "eng").mkdir()
        (src / "lib.rs").write_text("mod eng;\nmod top;\n")
        (src / "top.rs").write_text("use crate::eng::a::A; // crate::top is fine\n")
        (src / "eng" / "mod.rs").write_text("pub mod a;\npub mod b;\npub mod c;\n")
        (src / "eng" / "a.rs").write_text("use crate::eng::b::B;\n#[cfg(test)]\nmod tests { use crate::eng::c::C; }\n")
        (src / "eng" / "b.rs").write_text("use super::c::C;\n")
        (src / "eng" / "c.rs").write_text("// crate::eng::a is only a comment\npub struct C;\n")
        assert circles(src) == [], circles(src)
        (src / "eng" / "c.rs").write_text("use crate::eng::a::A;\n")
        assert circles(src) == [("eng", "a -> b -> c -> a")], circles(src)


def main() -> int:
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        print("check_circles: self-test ok")
        return 0
    bad = 0
    for arg in sys.argv[1:]:
        for folder, circle in circles(Path(arg)):
            print(f"{arg}: import circle in {folder}: {circle}")
            bad = 1
    return bad


if __name__ == "__main__":
    sys.exit(main())
