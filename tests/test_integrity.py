"""Scores that cannot be bought (issue 14; docs/security.md, "What a score means").

Each sample in sample_submissions/oracles/ tries to earn points without computing
them: a lookup table of the kit's recorded answers, gradient checkers that read the
grader's costs or check only where the grader used to make them wrong, a network
that spots the finite-difference batch in the call stack, a loop that stops the
clock, and text that breaks reports. Each must score at most what honest work of
the same quality scores.
"""
from __future__ import annotations

import csv
import io
import json
import py_compile
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
import yaml

from conftest import ROOT, SAMPLES

ORACLES = SAMPLES / "oracles"
MANIFEST = yaml.safe_load((SAMPLES / "manifest.yaml").read_text())


def cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def parts(result):
    return {p.id: p for p in result.parts()}


def honest(name, part):
    """The score the manifest gives an honest sample's part."""
    return MANIFEST[name]["scores"].get(part, None)


def test_every_oracle_sample_has_a_test():
    assert sorted(p.name for p in ORACLES.iterdir() if p.is_dir()) == sorted(
        ["clock", "control_characters", "gradcheck_closure", "gradcheck_fixed_indices", "lookup_table",
         "network_stack"])


def test_a_lookup_table_of_the_kits_answers_buys_nothing(tmp_path, kit, shared_grader, rubric):
    folder = tmp_path / "lookup"
    shutil.copytree(ORACLES / "lookup_table", folder)
    shutil.copy(kit / "expected.json", folder / "expected.json")
    # In the kit, whose inputs it recorded, the table is nearly perfect: the attack is real.
    run = cli("check", str(folder), "--rubric", "rubric.yaml", "--format", "json", cwd=kit)
    in_kit = {p["id"]: p["score"] for q in json.loads(run.stdout)["questions"] for p in q["parts"]}
    assert in_kit["softmax"] >= 8 and in_kit["sigmoid"] >= 2, in_kit
    # Graded for real, the inputs are the submission's own: at most the handout's fixed cases.
    graded = parts(shared_grader.grade(folder))
    handout = {pid: sum(c.points for c in part.checks if c.id == "handout_values")
               for _, part in rubric.parts() for pid in [part.id]}
    for pid in ("softmax", "sigmoid", "sigmoid_grad", "forward_backward_prop"):
        assert graded[pid].score <= handout[pid] + 1e-9, (pid, graded[pid].score, handout[pid])


def test_a_checker_that_reads_the_costs_closure_learns_nothing(shared_grader):
    checker = parts(shared_grader.grade(ORACLES / "gradcheck_closure"))["gradcheck_naive"]
    # It can only say "passed": no more than a checker that never fails.
    assert checker.score <= MANIFEST["gradcheck_always_passes"]["scores"]["gradcheck_naive"] + 1e-9


def test_a_checker_that_checks_only_the_old_wrong_indices_is_caught(shared_grader):
    checker = parts(shared_grader.grade(ORACLES / "gradcheck_fixed_indices"))["gradcheck_naive"]
    assert checker.score <= 2.5, [c.message for c in checker.checks if not c.passed]


def test_costs_linear_along_a_wrong_gradient_do_not_pass_for_consistent(shared_grader):
    stack = parts(shared_grader.grade(ORACLES / "network_stack"))["forward_backward_prop"]
    assert stack.score <= honest("network_transposed_weight_grad", "forward_backward_prop") + 1e-9


def test_a_loop_that_stops_the_clock_is_still_a_loop(shared_grader):
    softmax = parts(shared_grader.grade(ORACLES / "clock"))["softmax"]
    vectorized = next(c for c in softmax.checks if c.id == "vectorized")
    assert not vectorized.passed and softmax.score == honest("softmax_loops", "softmax")


def test_bytecode_is_neither_graded_nor_hashed(tmp_path, shared_grader):
    """A correct softmax compiled to an unchecked-hash .pyc beside a wrong source: the source is graded."""
    folder = tmp_path / "pyc"
    shutil.copytree(SAMPLES / "softmax_no_shift", folder)
    cache = folder / "__pycache__"
    cache.mkdir()
    tag = sys.implementation.cache_tag
    py_compile.compile(str(SAMPLES / "correct" / "q1_softmax.py"), cfile=str(cache / ("q1_softmax.%s.pyc" % tag)),
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    softmax = parts(shared_grader.grade(folder))["softmax"]
    assert softmax.score == honest("softmax_no_shift", "softmax")
    from grader.discover import Submission
    with_pyc = Submission("s", folder, folder).content_hash()
    shutil.rmtree(cache)
    assert with_pyc == Submission("s", folder, folder).content_hash()


def test_the_hash_is_unambiguous(tmp_path):
    """Moving bytes between a file's name and its neighbour's content changes the digest."""
    from grader.discover import SubmissionFiles
    a = SubmissionFiles([("a.py", b"x\0b.py\0y")]).digest()
    b = SubmissionFiles([("a.py", b"x"), ("b.py", b"y")]).digest()
    assert a != b


def test_hostile_text_leaves_every_report_valid(tmp_path):
    """What the sample prints and raises goes through the real command into every format."""
    sample = ORACLES / "control_characters"
    out = tmp_path / "r"
    for fmt, parse in (("json", json.loads), ("gradescope", json.loads), ("junit", ET.fromstring),
                       ("markdown", str), ("github", str), ("text", str)):
        target = out / ("report." + fmt)
        run = cli("check", str(sample), "--format", fmt, "--out", str(target))
        assert run.returncode == 0 and "Traceback" not in run.stderr, (fmt, run.stderr[-500:])
        text = target.read_text(encoding="utf-8")
        assert text and "\x00" not in text and "\x1b" not in text, fmt
        parse(text)
    for line in (out / "report.github").read_text().splitlines():
        assert not line.startswith("::error::fake")
    db = tmp_path / "g.db"
    root = tmp_path / "class"
    root.mkdir()
    shutil.copytree(sample, root / "=cmd|' -A0")
    assert cli("batch", str(root), "--db", str(db), "--quiet").returncode == 0
    run = cli("export", "--db", str(db), "--format", "csv")
    rows = list(csv.reader(io.StringIO(run.stdout)))
    assert rows[1][0] != "=cmd|' -A0" and rows[1][0].endswith("=cmd|' -A0")
    assert not any(cell.startswith(("=", "+", "@", "\t", "\r")) for row in rows for cell in row)


def test_a_batch_of_every_sample_prints_no_internal_error(tmp_path):
    """Every bundled sample and oracle, graded as a class: no check blames the grader."""
    root = tmp_path / "class"
    root.mkdir()
    for folder in sorted(SAMPLES.iterdir()):
        if folder.is_dir() and folder.name not in ("hostile", "oracles", "written", "similarity"):
            shutil.copytree(folder, root / folder.name)
    for folder in sorted(ORACLES.iterdir()):
        shutil.copytree(folder, root / ("oracle_" + folder.name))
    db = tmp_path / "g.db"
    run = cli("batch", str(root), "--db", str(db), "--quiet")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "internal error" not in run.stderr, run.stderr[-2000:]
    export = json.loads(cli("export", "--db", str(db), "--format", "json").stdout)
    assert len(export) == len(list(root.iterdir())) and all(row["status"] == "graded" for row in export)
    messages = json.dumps([r for r in export])
    assert "please report it" not in messages
