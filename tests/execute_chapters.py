"""Execute chapters as notebooks, fresh (no cache), and report time, errors and stray output.

    python tests/execute_chapters.py book/01_linearization.md [more chapters...]
    python tests/execute_chapters.py --all          # every chapter in _toc.yml

For each chapter it prints the wall time against the 60 s budget and fails (exit 1) on a
cell error, on anything written to stderr (warnings, log lines), or on a chapter over budget
(with --enforce-budget). This is what `make timings` runs; authors use it to check one
chapter without building the whole book.
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

import jupytext
import nbformat
import yaml
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
CHAPTER_BUDGET_S = 60.0
BOOK_BUDGET_S = 360.0


def toc_chapters() -> list[Path]:
    """The .md files listed in _toc.yml that contain code cells, in order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for p in toc.get("parts", []) for c in p["chapters"]]
    paths = [ROOT / f"{f}.md" for f in files]
    return [p for p in paths if "```{code-cell}" in p.read_text()]


def cell_seconds(nb) -> list[tuple[float, str]]:
    """(seconds, first source line) of each executed code cell, from nbclient's timing metadata."""
    rows = []
    for cell in nb.cells:
        ex = cell.get("metadata", {}).get("execution", {})
        if cell.cell_type == "code" and "shell.execute_reply" in ex and "iopub.execute_input" in ex:
            t0 = datetime.fromisoformat(ex["iopub.execute_input"].replace("Z", "+00:00"))
            t1 = datetime.fromisoformat(ex["shell.execute_reply"].replace("Z", "+00:00"))
            rows.append(((t1 - t0).total_seconds(), (cell.source.splitlines() or [""])[0][:60]))
    return rows


def execute(path: Path, timeout: int = 120, cells: bool = False) -> tuple[float, list[str]]:
    """Execute one chapter; return (seconds, problems). With ``cells``, print each cell's time."""
    nb = jupytext.read(path)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    problems: list[str] = []
    t0 = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as err:
        problems.append(f"cell error: {str(err).splitlines()[-1] if str(err) else err!r}")
    seconds = time.perf_counter() - t0
    if cells:
        for sec, line in cell_seconds(nb):
            print(f"    {sec:6.1f} s  {line}")
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                problems.append(f"cell {i}: stderr output: {out.get('text', '')[:200]!r}")
            if out.get("output_type") == "error":
                problems.append(f"cell {i}: {out.get('ename')}: {out.get('evalue', '')[:200]}")
    return seconds, problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("chapters", nargs="*", type=Path)
    ap.add_argument("--all", action="store_true", help="every chapter in _toc.yml")
    ap.add_argument("--enforce-budget", action="store_true", help="fail if over the time budgets")
    ap.add_argument("--cells", action="store_true", help="print each code cell's time")
    args = ap.parse_args(argv)
    chapters = toc_chapters() if args.all else [p.resolve() for p in args.chapters]
    if not chapters:
        ap.error("name chapters or pass --all")
    total, failed = 0.0, False
    print(f"{'chapter':40s} {'seconds':>8s}  budget {CHAPTER_BUDGET_S:.0f} s")
    for path in chapters:
        seconds, problems = execute(path, cells=args.cells)
        total += seconds
        over = seconds > CHAPTER_BUDGET_S
        flag = "OVER" if over else "ok"
        print(f"{path.relative_to(ROOT)!s:40s} {seconds:8.1f}  {flag}", flush=True)
        for p in problems:
            print(f"    {p}")
        failed |= bool(problems) or (over and args.enforce_budget)
    print(f"{'total':40s} {total:8.1f}  budget {BOOK_BUDGET_S:.0f} s "
          f"{'OVER' if total > BOOK_BUDGET_S else 'ok'}")
    failed |= args.enforce_budget and total > BOOK_BUDGET_S
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
