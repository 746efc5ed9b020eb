"""Benchmark `grader similar`: ranking quality against copydetect, and speed for a class of 500.

    python benchmarks/bench_similar.py [--n 500]

Quality: a class of 9 independently written correct solutions (sample_submissions/similarity/
independent_*, correct, correct_two_file, the reference) and 6 disguised copies of one of them
(tests/copying.py: renamed, reordered, Python 2, dead code, comments, all at once). Printed per
method: the lowest score of an (original, copy) pair, the highest of an independent pair, and
whether every copy ranks above every independent pair. copydetect (if installed) is run on the
same files, file by file, with the starter as boilerplate; a pair's score is the mean over its
files of the larger of copydetect's two overlap fractions (the smaller side's share, as ours).

Speed: N synthetic students (the independent solutions, each disguised and mutated so that no
two are alike), fingerprinted and compared; seconds for each step. Asserts nothing.
"""
from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from copying import ALL, disguise, every  # noqa: E402
from grader import similarity as sim  # noqa: E402
from grader.discover import read_files  # noqa: E402

SAMPLES = ROOT / "sample_submissions"
SIMILARITY = SAMPLES / "similarity"
ORIGINAL = "independent_3"
GRADED = {"softmax", "sigmoid", "sigmoid_grad", "gradcheck_naive", "forward_backward_prop", "cross_entropy_grad"}


def make_class(folder: Path) -> dict:
    sources = {p.name: p for p in sorted(SIMILARITY.glob("independent_*"))}
    sources.update(correct=SAMPLES / "correct", correct_two_file=SAMPLES / "correct_two_file",
                   reference_like=ROOT / "reference")
    for name, path in sources.items():
        shutil.copytree(path, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name, fn in list(ALL.items()) + [("everything", every)]:
        disguise(SIMILARITY / ORIGINAL, folder / ("copy_" + name), fn)
    return {p.name: read_files(p).files for p in sorted(folder.iterdir())}


def quality(name: str, scores: dict) -> None:
    copies = [s for (a, b), s in scores.items() if ORIGINAL in (a, b) and any(x.startswith("copy_") for x in (a, b))]
    independent = [s for (a, b), s in scores.items() if not any(x.startswith("copy_") for x in (a, b))]
    print("%-28s lowest copy %.2f, highest independent %.2f, every copy above every independent pair: %s" % (
        name, min(copies), max(independent), min(copies) > max(independent)))
    per_copy = {(b if a == ORIGINAL else a)[5:]: s for (a, b), s in scores.items()
                if ORIGINAL in (a, b) and any(x.startswith("copy_") for x in (a, b))}
    print("    copies: " + ", ".join("%s %.2f" % kv for kv in sorted(per_copy.items())))


def ours(files: dict, starter: set) -> dict:
    students = [sim.build(n, sim.code_prints(f), None, GRADED, starter) for n, f in files.items()]
    return _all_pairs(files, {tuple(sorted((p.a, p.b))): p.score for p in sim.compare(students, 0.0)})


def _all_pairs(files: dict, found: dict) -> dict:
    return {(a, b): found.get((a, b), 0.0) for a, b in combinations(sorted(files), 2)}


def copydetect_scores(folder: Path, files: dict) -> dict:
    from copydetect import CodeFingerprint, compare_files
    starter = "".join(p.read_text() for p in (SIMILARITY / "starter").glob("*.py"))
    boiler = list(CodeFingerprint("starter.py", 25, 1, fp=__import__("io").StringIO(starter)).hashes)
    prints = {}
    for student in files:
        for path in (folder / student).glob("*.py"):
            prints[(student, path.name)] = CodeFingerprint(str(path), 25, 1, boilerplate=boiler)
    found = {}
    for a, b in combinations(sorted(files), 2):
        shares = []
        for (sa, name), fp in prints.items():
            if sa != a or (b, name) not in prints:
                continue
            _, similarities, _ = compare_files(fp, prints[(b, name)])
            shares.append(max(similarities))     # the share of the smaller side found in the other, as ours
        found[(a, b)] = sum(shares) / len(shares) if shares else 0.0
    return found


def speed(n: int) -> None:
    rng = random.Random(7)
    bases = sorted(SIMILARITY.glob("independent_*"))
    start = time.perf_counter()
    students = []
    for i in range(n):
        base = bases[i % len(bases)]
        files = []
        for path in sorted(base.glob("*.py")):
            lines = ALL["renamed"](path.read_text()).splitlines()
            lines = [line for line in lines if rng.random() > 0.08]          # each student different
            lines.insert(rng.randrange(len(lines) + 1), "extra_%d = %d" % (i, rng.randrange(1000)))
            files.append((path.name, "\n".join(lines).encode()))
        students.append(sim.build("s%04d" % i, sim.code_prints(files), None, GRADED, set()))
    prints = time.perf_counter() - start
    start = time.perf_counter()
    pairs = sim.compare(students)
    compare = time.perf_counter() - start
    print("speed, %d students: fingerprints %.1f s (done once, at grading time), comparison %.1f s, %d pairs flagged"
          % (n, prints, compare, len(pairs)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=500)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = make_class(folder)
        starter = sim.starter_prints(read_files(SIMILARITY / "starter").files)
        start = time.perf_counter()
        quality("ours (with --starter)", ours(files, starter))
        quality("ours (no starter)", ours(files, set()))
        print("  (%.2f s)" % (time.perf_counter() - start))
        try:
            start = time.perf_counter()
            quality("copydetect 0.5 (k=25, w=1)", copydetect_scores(folder, files))
            print("  (%.2f s)" % (time.perf_counter() - start))
        except ImportError:
            print("copydetect: not installed (pip install copydetect to compare)")
    speed(opts.n)


if __name__ == "__main__":
    main()
