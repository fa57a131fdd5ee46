"""Command line of the generator.

``python -m codegen`` regenerates; ``--check`` exits 1 listing stale files; ``drift`` compares the
spec with a Kalshi XML dictionary.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .generate import render_all
from .loader import load_spec
from .yamlload import SpecError

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "src/kalshi_fix_sansio/codec/_generated"


def generate(spec_dir: Path, out_root: Path, package: str, docs: bool, check: bool) -> int:
    """Write (or, with check, compare) every generated file.

    Args:
        spec_dir: the spec directory.
        out_root: the project root the relative output paths are under.
        package: the generated package path relative to out_root.
        docs: also render docs reference pages.
        check: compare only; write nothing.

    Returns:
        The process exit status: 0 fine, 1 stale files (check) or spec errors.
    """
    try:
        spec = load_spec(spec_dir, _shown(spec_dir))
    except SpecError as exc:
        print(f"spec error{'s' if len(exc.problems) > 1 else ''}:", file=sys.stderr)
        for p in exc.problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    files = render_all(spec, package=package, docs=docs)
    stale = []
    for rel, text in sorted(files.items()):
        path = out_root / rel
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(rel)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    gen_dir = out_root / package
    if gen_dir.is_dir():
        expected = {out_root / rel for rel in files}
        for extra in sorted(gen_dir.glob("*.py")):
            if extra not in expected:
                stale.append(str(extra.relative_to(out_root)))
                if not check:
                    extra.unlink()
    if check:
        if stale:
            print("generated files are stale (run `python -m codegen`):", file=sys.stderr)
            for rel in stale:
                print(f"  {rel}", file=sys.stderr)
            return 1
        print(f"generated code is up to date ({len(files)} files)")
        return 0
    print(
        f"wrote {len(stale)} of {len(files)} files" if stale else f"{len(files)} files up to date"
    )
    return 0


def _shown(spec_dir: Path) -> str:
    try:
        return str(spec_dir.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(spec_dir)


def main(argv: list[str]) -> int:
    """Entry point of ``python -m codegen``.

    Args:
        argv: the arguments after the module name.

    Returns:
        The exit status.
    """
    if argv and argv[0] == "drift":
        from .drift import main as drift_main

        return drift_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if generated files are stale")
    parser.add_argument("--spec", type=Path, default=ROOT / "spec", help="spec directory")
    parser.add_argument("--out", type=Path, default=ROOT, help="project root to write under")
    parser.add_argument("--package", default=PACKAGE, help="generated package path under --out")
    parser.add_argument("--no-docs", action="store_true", help="skip the docs reference pages")
    args = parser.parse_args(argv)
    return generate(args.spec, args.out, args.package, not args.no_docs, args.check)
