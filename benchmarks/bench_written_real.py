"""Agreement of the written half with a TA's verdicts on real, public write-ups (never committed).

    python benchmarks/bench_written_real.py [--mirrors /work/.mirror] [--jobs 2] [--show]

Rebuilds the write-ups that benchmarks/real_written/*.yaml name (see rebuild.py there) into a
temporary folder, grades each through the real command, ``grader check DIR --rubric a1-full
--format json``, and compares every part with the manifest's verdict:

- wrong parts called correct (the TA said incorrect, missing, unreadable or review): must be 0;
- right answers called incorrect: must be 0;
- right answers confirmed (graded correct), per format, over the formats a reader can read;
- what the bare handout gets (every part missing), and the median seconds per write-up.

A TA's ``unreadable`` and ``review`` expect the grader's ``needs_review``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "real_written"))
from rebuild import entries, rebuild  # noqa: E402

EXPECTS = {"correct": "correct", "incorrect": "incorrect", "missing": "missing",
           "unreadable": "needs_review", "review": "needs_review"}


def grade(folder: Path, grader: str):
    start = time.perf_counter()
    run = subprocess.run([grader, "check", str(folder), "--rubric", "a1-full", "--format", "json"],
                         capture_output=True, text=True)
    took = time.perf_counter() - start
    try:
        report = json.loads(run.stdout)
    except ValueError:
        return {}, took, run.stderr.strip()[-300:]
    parts = {p["id"]: p for q in report["questions"] for p in q["parts"] if p.get("verdict")}
    return parts, took, ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mirrors", default="/work/.mirror", type=Path)
    parser.add_argument("--grader", default="grader")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--show", action="store_true", help="print every part that disagrees")
    args = parser.parse_args()
    manifest = entries()
    with tempfile.TemporaryDirectory(prefix="real-written-") as tmp:
        folders = rebuild(Path(tmp), args.mirrors)
        with ThreadPoolExecutor(args.jobs) as pool:
            graded = dict(zip(folders, pool.map(lambda k: grade(folders[k], args.grader), folders)))
    table = defaultdict(Counter)      # format -> counts
    false_correct, false_incorrect, disagree = [], [], []
    times = []
    for key, (parts, took, error) in sorted(graded.items()):
        entry = manifest[key]
        fmt = entry["format"]
        times.append(took)
        if error:
            disagree.append("%s: the command failed: %s" % (key, error))
            continue
        for part, want in entry["expect"].items():
            got = parts.get(part, {}).get("verdict", "?")
            expected = EXPECTS[want["verdict"]]
            row = table["handout" if entry.get("course") == "handout" else fmt]
            row["parts"] += 1
            row["agree"] += got == expected
            if want["verdict"] == "correct":
                row["right"] += 1
                row["confirmed"] += got == "correct"
                if got == "incorrect":
                    false_incorrect.append((key, part))
            elif got == "correct":
                false_correct.append((key, part))
            if got != expected:
                why = (parts.get(part, {}).get("checks") or [{}])[0].get("message", "")
                disagree.append("%s %s %s: TA %s, grader %s: %s" % (key, fmt, part, want["verdict"], got, why[:160]))
    print("write-ups: %d (%s)" % (len(graded), ", ".join("%s %d" % (f, n) for f, n in
                                                        sorted(Counter(manifest[k]["format"] for k in graded).items()))))
    print("%-8s %6s %6s %8s %10s" % ("format", "parts", "agree", "right", "confirmed"))
    total = Counter()
    for fmt, row in sorted(table.items()):
        total.update(row)
        print("%-8s %6d %6d %8d %9d%%" % (fmt, row["parts"], row["agree"], row["right"],
                                          round(100 * row["confirmed"] / row["right"]) if row["right"] else 0))
    print("%-8s %6d %6d %8d %9d%%" % ("all", total["parts"], total["agree"], total["right"],
                                      round(100 * total["confirmed"] / max(total["right"], 1))))
    print("wrong parts called correct: %d %s" % (len(false_correct), false_correct))
    print("right answers called incorrect: %d %s" % (len(false_incorrect), false_incorrect))
    print("median seconds per write-up (grader check): %.2f (max %.2f)" % (statistics.median(times), max(times)))
    if args.show:
        print("\n".join(disagree))


if __name__ == "__main__":
    main()
