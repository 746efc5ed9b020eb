"""The engine names no assignment (docs/architecture.md, rule 9).

Every function, part id and file name of the bundled assignment, read from its rubrics and its
reference, is searched for in every module of grader/ outside the assignment's own plug-in. The
written reader's general math vocabulary (softmax, sigmoid: functions a write-up may use whatever
the homework) is allowed there alone.
"""
from __future__ import annotations

import re
from pathlib import Path

from grader.rubric import load_rubric

from conftest import ROOT

PACKAGE = ROOT / "grader"
PLUGIN = PACKAGE / "assignments" / "a1"
MATH_VOCABULARY = {"softmax", "sigmoid"}


def assignment_names():
    names = {"Assignment 1", "a1-full", "a1.yaml", "a1-full.yaml"}
    for path in sorted((ROOT / "rubrics").glob("*.yaml")):
        rubric = load_rubric(path)
        names |= set(rubric.isolate) | set(rubric.isolate.values())
        for _, part in rubric.parts():
            names.add(part.id)
            names |= set(part.mistakes)
            for candidate in part.find:
                names |= {candidate.module, candidate.name, candidate.module + ".py"}
    names |= {p.name for p in (ROOT / "reference").glob("*.py")} | {p.stem for p in (ROOT / "reference").glob("*.py")}
    return names


def test_the_names_searched_for_are_the_assignments():
    names = assignment_names()
    assert {"softmax", "forward_backward_prop", "q2_neural", "q2_gradcheck.py", "gradcheck_naive",
            "softmax_shift_proof", "network_packing_changed"} <= names


def test_no_engine_module_names_the_bundled_assignment():
    names = assignment_names()
    pattern = re.compile(r"(?<![\w-])(%s)(?![\w-])" % "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)))
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if PLUGIN in path.parents:
            continue
        allowed = MATH_VOCABULARY if (PACKAGE / "written") in path.parents else set()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            hits = {m.group(1) for m in pattern.finditer(line)} - allowed
            if hits:
                found.append("%s:%d: %s" % (path.relative_to(ROOT), number, ", ".join(sorted(hits))))
    assert found == []


def test_the_search_finds_a_name_where_there_is_one(tmp_path):
    """The search above is not blind: the plug-in itself is full of the names."""
    text = (PLUGIN / "backprop.py").read_text(encoding="utf-8")
    assert "forward_backward_prop" in text and (PLUGIN / "mistakes.py").exists()
