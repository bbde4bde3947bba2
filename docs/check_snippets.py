"""Run the Python code blocks of the Markdown guides, so that the documentation stays true.

    python docs/check_snippets.py                    # every docs/*.md (but architecture.md)
    python docs/check_snippets.py docs/guide-data.md # some files
    python docs/check_snippets.py -v docs/guide-nn.md  # and show what the blocks print

The ```python blocks of one file run in order, in one fresh interpreter (a later block may use
what an earlier one defined), with ``EMBER_NUM_CPU_DEVICES=8`` so the sharding examples have
devices to spread over, and in a temporary working directory. A block whose info string says
``notest`` (```python notest) is shown but not run: shell-like fragments, multi-process jobs,
paths that only exist on the reader's machine. Standard library only.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent
# Pages whose code blocks are sketches, not programs (architecture.md shows how to write a primitive).
NOT_RUN = {"architecture.md"}
_FENCE = re.compile(r"^```(\S*)[ \t]*(.*)$")


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(first line number, source) of each ```python block not marked ``notest``."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        lang, info = m.group(1), m.group(2)
        start, body = i + 1, []
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        i += 1
        if lang == "python" and "notest" not in info.split():
            blocks.append((start + 1, "\n".join(body)))
    return blocks


def program(path: Path, blocks: list[tuple[int, str]]) -> str:
    """One script: each block compiled with its own file name and line numbers, so a traceback
    points at the Markdown line."""
    out = ["import sys, os", "os.environ.setdefault('EMBER_NUM_CPU_DEVICES', '8')", "_ns = {'__name__': '__main__'}"]
    for line, source in blocks:
        padded = "\n" * (line - 1) + source + "\n"
        out.append(f"exec(compile({padded!r}, {str(path)!r}, 'exec'), _ns)")
        out.append(f"print('ok: block at line {line}', flush=True)")
    return "\n".join(out) + "\n"


def check(path: Path, timeout: float, verbose: bool = False) -> bool:
    blocks = python_blocks(path.read_text(encoding="utf-8"))
    if not blocks:
        print(f"{path.name}: no runnable blocks")
        return True
    env = {**os.environ, "EMBER_NUM_CPU_DEVICES": "8"}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        proc = subprocess.run([sys.executable, "-c", program(path, blocks)], cwd=work, env=env,
                              capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - start
    if proc.returncode:
        print(f"{path.name}: FAILED after {seconds:.1f}s\n{proc.stdout[-2000:]}{proc.stderr[-6000:]}")
        return False
    if verbose:
        print(proc.stdout)
    print(f"{path.name}: {len(blocks)} blocks ok ({seconds:.1f}s)")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("-v", "--verbose", action="store_true", help="print what the blocks print")
    args = parser.parse_args(argv)
    files = args.files or sorted(p for p in DOCS.glob("*.md") if p.name not in NOT_RUN)
    ok = all([check(f.resolve(), args.timeout, args.verbose) for f in files])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
