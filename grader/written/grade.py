"""Grade the written parts of one submission: documents -> parts -> statements -> checks -> results.

Runs in the written service's process (service.py), never in the grading
process: a hostile PDF or formula costs that process's time and memory only.
Each part's verdict: ``missing`` (not in the write-up), ``needs_review`` (a
check could not decide: the reason and the part's text go to a TA),
``correct`` (every check passed) or ``incorrect``.
"""
from __future__ import annotations

import hashlib
import sys
from typing import Dict, List, Sequence, Tuple

from ..checks import REGISTRY
from ..checks.base import CheckResult
from ..checks.numeric import seeded_rng
from ..scoring import PartResult, score_check, score_part, unscored_checks
from .answer import Answer, shared_functions
from .mathtext import statements
from .parts import split_parts
from .render import chain as render_chain
from .sources import documents

MAX_SHOWN_TEXT = 4000
VERDICTS = ("correct", "incorrect", "needs_review", "missing")


def grade_writeup(rubric, files: Sequence[Tuple[str, bytes]], seed: int,
                  skipped: Sequence[str] = ()) -> Dict[str, PartResult]:
    """Every written part of ``rubric``, graded from the submission's ``files``."""
    parts = rubric.written_parts()
    docs = documents(files, rubric.writeup.include, rubric.writeup.exclude)
    found = split_parts(docs, [(p.id, p.written.label, p.written.cues) for p in parts])
    unreadable = [d.problem for d in docs if d.problem]
    unreadable += [s for s in skipped if any(s.split(":")[0].lower().endswith(ext) for ext in
                                             (".md", ".tex", ".txt", ".ipynb", ".pdf"))]
    used = sorted({name for text in found.values() for name in text.sources})
    shared = shared_functions([(d.text, d.plain) for d in docs if d.name in used],
                              parts[0].written.notation) if parts else []
    results: Dict[str, PartResult] = {}
    for part in parts:
        text = found.get(part.id)
        if text is None:
            results[part.id] = _absent(part, unreadable, [d.name for d in docs])
            continue
        answer = Answer(part.id, text.text, statements(text.text, text.plain, part.written.notation),
                        part.written.conventions, part.written.notation, _seed(seed, part.id), shared)
        results[part.id] = _grade_part(rubric, part, answer, seed, text)
    for result in results.values():
        if used and result.verdict != "missing":
            result.written.setdefault("files", used)
    return results


def _seed(seed: int, part_id: str) -> int:
    return int(hashlib.sha256(("%d\0%s" % (seed, part_id)).encode()).hexdigest()[:12], 16)


def _absent(part, unreadable: List[str], names: List[str]) -> PartResult:
    if unreadable:
        why = "; ".join(unreadable)
        result = score_part(part, "graded", unscored_checks(part, "not graded: " + why))
        result.verdict = "needs_review"
        result.written = {"reason": why, "text": ""}
        return result
    where = ("your write-up (%s)" % ", ".join(names) if names else
             "your submission: it has no write-up (.md, .tex, .txt, .ipynb or .pdf)")
    result = score_part(part, "missing", unscored_checks(part, "%s not found in %s" % (part.title, where)))
    result.verdict = "missing"
    return result


def _grade_part(rubric, part, answer: Answer, seed: int, text) -> PartResult:
    outcomes, verdicts = [], []
    for spec in part.checks:
        kind = REGISTRY[spec.kind]
        opts = dict(spec.options)
        try:
            verdict = kind.fn(answer, None, opts, seeded_rng(seed, part.id, spec.id))
        except Exception as exc:  # noqa: BLE001 - a grader bug (or a formula it chokes on) needs a person
            print("a1grader: internal error in written check %s/%s: %r" % (part.id, spec.id, exc), file=sys.stderr)
            verdict = CheckResult.fail("the grader could not decide this (%s: %s); a TA will read it"
                                       % (type(exc).__name__, exc), 0.0, verdict="needs_review")
        verdicts.append(verdict.details.get("verdict", "correct" if verdict.passed else "incorrect"))
        outcomes.append(score_check(spec, verdict.fraction, verdict.message, dict(verdict.details)))
    result = score_part(part, "graded", outcomes)
    result.verdict = ("needs_review" if "needs_review" in verdicts
                      else "correct" if all(v == "correct" for v in verdicts) else "incorrect")
    statement, why = answer.result()
    shown = {"how": text.how, "files": list(text.sources)}
    if statement is not None:
        shown["result"] = render_chain(statement.chain)
    for outcome in outcomes:
        for key in ("student", "expected"):
            if key in outcome.details and key not in shown:
                shown[key] = outcome.details[key]
    if result.verdict == "needs_review":
        shown["reason"] = next(o.message for o, v in zip(outcomes, verdicts) if v == "needs_review")
        shown["text"] = answer.text[:MAX_SHOWN_TEXT]
    unread = [st for st in answer.statements if not st.ok and st.display]
    if unread:
        shown["unread"] = len(unread)
    result.written = shown
    return result
