"""Benchmark the written half: one write-up through `grader check`, a class of write-ups through `grader batch`.

    python benchmarks/bench_written.py [--n 200] [--jobs 2]

Prints, measured in this one run:
 * in-process: seconds to decide all sample write-ups (grader.written.grade, no process, no sandbox);
 * `grader check` of one write-up with the full rubric, CLI, sandbox and parser start included
   (best and median of 5), and of one write-up plus the correct code;
 * `grader batch --jobs J` over N write-ups (copies of the samples, each made distinct): wall,
   submissions per second, and the same N with the code-only rubric for comparison.
Asserts nothing.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WRITTEN = ROOT / "sample_submissions" / "written"
FULL = ROOT / "rubrics" / "a1-full.yaml"


def cli(*args: str) -> float:
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if run.returncode not in (0, 1):
        raise SystemExit("grader %s failed: %s" % (" ".join(args), run.stderr.strip()[-400:]))
    return elapsed


def make_class(folder: Path, n: int) -> None:
    samples = sorted(p for p in WRITTEN.iterdir() if p.is_dir())
    for i in range(n):
        target = folder / ("w%04d" % i)
        shutil.copytree(samples[i % len(samples)], target)
        (target / "name.txt").write_text("student %d\n" % i)     # distinct files: nothing is skipped as unchanged


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    opts = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from grader.rubric import load_rubric
    from grader.written.grade import grade_writeup
    rubric = load_rubric(FULL)
    folders = sorted(p for p in WRITTEN.iterdir() if p.is_dir())
    start = time.perf_counter()
    for folder in folders:
        files = [(str(p.relative_to(folder)), p.read_bytes()) for p in sorted(folder.rglob("*")) if p.is_file()]
        grade_writeup(rubric, files, 1)
    print("in-process: %d write-ups decided in %.2f s (%.1f ms each)" % (
        len(folders), time.perf_counter() - start, 1000 * (time.perf_counter() - start) / len(folders)))

    one = WRITTEN / "pdf_converter_duplicates_correct"
    times = [cli("check", str(one), "--rubric", str(FULL), "--format", "json") for _ in range(5)]
    print("grader check, one write-up (full rubric): best %.2f s, median %.2f s" % (min(times), statistics.median(times)))
    with tempfile.TemporaryDirectory() as tmp:
        both = Path(tmp) / "both"
        shutil.copytree(ROOT / "sample_submissions" / "correct", both)
        shutil.copytree(one, both, dirs_exist_ok=True)
        times = [cli("check", str(both), "--rubric", str(FULL), "--format", "json") for _ in range(3)]
        print("grader check, code and write-up (full rubric): best %.2f s" % min(times))
        times = [cli("check", str(both), "--format", "json") for _ in range(3)]
        print("grader check, the same folder, code-only rubric: best %.2f s" % min(times))

        root = Path(tmp) / "class"
        make_class(root, opts.n)
        wall = cli("batch", str(root), "--db", str(Path(tmp) / "full.db"), "--rubric", str(FULL),
                   "--jobs", str(opts.jobs), "--quiet")
        print("grader batch --jobs %d, %d write-ups, full rubric: %.1f s wall, %.1f submissions/s" % (
            opts.jobs, opts.n, wall, opts.n / wall))
        wall_code = cli("batch", str(root), "--db", str(Path(tmp) / "code.db"), "--jobs", str(opts.jobs), "--quiet")
        print("grader batch --jobs %d, the same folders, code-only rubric: %.1f s wall (the written half adds %.1f s)"
              % (opts.jobs, wall_code, wall - wall_code))


if __name__ == "__main__":
    main()
