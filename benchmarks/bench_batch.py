"""Benchmark `grader batch`: throughput, cost per submission, memory, and isolation overhead.

    python benchmarks/bench_batch.py [--n 200] [--jobs 2] [--sample 20]

Generates N synthetic submissions (copies of a mix of the bundled samples), grades
them with `grader batch`, and prints: submissions per second, wall and CPU per
submission, the peak RSS of any one grading process, and two ratios measured in
this same run (machines here are noisy: compare within one run only):

 (a) `grader batch --jobs 1` per submission / the same checks run in-process on
     the same submissions, without any sandbox (the cost of isolation);
 (b) `grader batch --jobs 1` per submission / a loop that starts a fresh
     `python -m grader.cli check` per submission.

It also times re-running the unchanged batch (everything skipped) and one
`grader check sample_submissions/correct` as a user types it (CLI start
included; best and median of 7). Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_submissions"
MIX = ["correct", "correct_two_file", "softmax_no_shift", "softmax_loops", "sigmoid_unstable",
       "gradcheck_one_sided", "gradcheck_no_abs", "network_both_mean", "network_transposed_weight_grad",
       "legacy_python2"]


def make_class(folder: Path, n: int) -> None:
    """N students, each a copy of a sample of the mix, assembled once (grader/samples.py: most samples
    hold only the files they change)."""
    from grader import samples
    full = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in MIX:
            full[name] = samples.assemble(SAMPLES, name, Path(tmp) / name)
        for i in range(n):
            shutil.copytree(full[MIX[i % len(MIX)]], folder / ("s%04d" % i))


def children_usage():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def timed(cmd):
    cpu0, _ = children_usage()
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    cpu1, maxrss = children_usage()
    return wall, cpu1 - cpu0, maxrss


# ------------------------------------------------------------------ in-process, no isolation

def load_module(folder: Path, name: str, inject):
    saved = dict(sys.modules)
    sys.modules.update(inject)
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location(name, folder / (name + ".py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        import contextlib
        import io
        with contextlib.redirect_stdout(io.StringIO()):
            spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(folder))
        for key in list(sys.modules):
            if key not in saved:
                del sys.modules[key]
        sys.modules.update(saved)


def grade_in_process(folder: Path, rubric, reference) -> float:
    """The same checks, same inputs, no sandbox: the student's modules imported right here."""
    from grader.plugins import ADAPTERS
    from grader.sandbox.local import LocalStudent
    from grader.checks import REGISTRY
    from grader.checks.numeric import seeded_rng
    from grader.reference import RefFunction
    total = 0.0
    for _, part in rubric.parts():
        inject = {}   # the student's own dependencies, as the sandbox grades a class that has them right
        student = None
        for cand in part.find:
            if not (folder / (cand.module + ".py")).exists():
                continue
            try:
                module = load_module(folder, cand.module, inject)
            except Exception:  # noqa: BLE001 - a module that does not load, as in the sandbox
                continue
            fn = getattr(module, cand.name, None)
            if callable(fn):
                student = LocalStudent(fn, cand.name)
                if cand.adapter:
                    student = ADAPTERS[cand.adapter](student)
                break
        if student is None:
            continue
        ref = RefFunction(next((reference.function(c.module, c.name) for c in part.find
                                if reference.function(c.module, c.name)), None), reference)
        for spec in part.checks:
            try:
                result = REGISTRY[spec.kind].fn(student, ref, dict(spec.options), seeded_rng(rubric.seed, part.id, spec.id))
                total += spec.points * result.fraction
            except Exception:  # noqa: BLE001
                pass
    return total


def cpu_per_submission(folders, rubric):
    """CPU seconds per submission in the grading process and in its sandbox (read from /proc)."""
    from grader.runner import Grader
    tick = os.sysconf("SC_CLK_TCK")
    with Grader(rubric) as grader:
        grader.grade(folders[0])   # start the zygote outside the measurement

        def sandbox_cpu():
            """CPU of the zygote's process tree (bwrap's included); reaped workers count in cutime."""
            total, frontier = 0, [grader.zygote.proc.pid]
            while frontier:
                pid = frontier.pop()
                try:
                    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
                    frontier += [int(k) for k in open("/proc/%d/task/%d/children" % (pid, pid)).read().split()]
                except OSError:
                    continue
                total += sum(int(v) for v in fields[11:15])   # utime, stime, cutime, cstime
            return total / tick

        here0, box0 = time.process_time(), sandbox_cpu()
        for folder in folders:
            grader.grade(folder)
        return (time.process_time() - here0) / len(folders), (sandbox_cpu() - box0) / len(folders)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--sample", type=int, default=20, help="submissions for the ratio measurements")
    args = parser.parse_args()
    # Bytecode first: with PYTHONDONTWRITEBYTECODE set (as on this project's machines) every
    # command would compile the grader's edited modules again, which an installed grader never does.
    import compileall
    compileall.compile_dir(str(ROOT / "grader"), quiet=1)
    sys.path.insert(0, str(ROOT))
    from grader.rubric import default_rubric_path, load_rubric
    from grader.runner import load_reference
    from grader.sandbox import isolation
    grader = [sys.executable, "-m", "grader.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_class(tmp / "class", args.n)
        wall, _, maxrss = timed(grader + ["batch", str(tmp / "class"), "--db", str(tmp / "all.db"),
                                            "--jobs", str(args.jobs), "--quiet"])
        rerun, _, _ = timed(grader + ["batch", str(tmp / "class"), "--db", str(tmp / "all.db"), "--quiet"])
        print("isolation mode: %s" % isolation.detect())
        print("batch of %d, --jobs %d: %.1f s wall, %.1f submissions/s" % (args.n, args.jobs, wall, args.n / wall))
        print("  per submission: %.3f s wall" % (wall / args.n))
        print("  peak RSS of one grading process: %.0f MB" % (maxrss / 1024))
        print("  re-running the unchanged batch: %.2f s" % rerun)

        make_class(tmp / "few", args.sample)
        one, _, _ = timed(grader + ["batch", str(tmp / "few"), "--db", str(tmp / "few.db"), "--jobs", "1", "--quiet"])
        per_batch = one / args.sample
        rubric = load_rubric(default_rubric_path())
        reference = load_reference(rubric.reference)
        start = time.perf_counter()
        for folder in sorted((tmp / "few").iterdir()):
            grade_in_process(folder, rubric, reference)
        per_inprocess = (time.perf_counter() - start) / args.sample
        start = time.perf_counter()
        for folder in sorted((tmp / "few").iterdir()):
            subprocess.run(grader + ["check", str(folder), "--format", "json"], cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)
        per_fresh = (time.perf_counter() - start) / args.sample
        cpu_here, cpu_sandbox = cpu_per_submission(sorted((tmp / "few").iterdir()), rubric)
        print("one worker's CPU per submission: %.3f s grading process + %.3f s sandbox (zygote and its workers)"
              % (cpu_here, cpu_sandbox))
        print("ratios over %d submissions, one process at a time:" % args.sample)
        print("  grader batch --jobs 1: %.3f s/submission" % per_batch)
        print("  same checks in-process, no isolation: %.3f s/submission" % per_inprocess)
        print("  fresh `grader check` per submission: %.3f s/submission" % per_fresh)
        print("  (a) batch / in-process = %.2f" % (per_batch / per_inprocess))
        print("  (b) batch / fresh interpreter = %.2f" % (per_batch / per_fresh))
        walls = sorted(timed(grader + ["check", str(SAMPLES / "correct")])[0] for _ in range(7))
        print("grader check sample_submissions/correct: best %.2f s, median %.2f s" % (walls[0], walls[3]))


if __name__ == "__main__":
    main()
