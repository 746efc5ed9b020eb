"""Grade the written parts of one submission: documents -> parts -> statements -> checks -> results.

Runs in the written service's process (service.py), never in the grading
process: a hostile PDF or formula costs that process's time and memory only.
Each part's verdict: ``missing`` (not in the write-up), ``needs_review`` (a
check could not decide: the reason and the part's text go to a TA),
``correct`` (every check passed) or ``incorrect``.
"""
from __future__ import annotations

import hashlib
import re
import sys
from typing import Dict, List, Optional, Sequence, Tuple

from .. import NAME
from ..checks import REGISTRY
from ..checks.base import CheckResult
from ..checks.numeric import seeded_rng
from ..scoring import PartResult, score_check, score_part, unscored_checks
from ..similarity import text_prints
from .answer import Answer, answered, final_member, mark_given, shared_functions
from .latex import walk
from .mathtext import statements
from .parts import split_parts
from .render import chain as render_chain
from .sources import SUFFIXES, documents

MAX_SHOWN_TEXT = 4000
MAX_TREE = 400              # nodes of a result kept in the JSON for the review page
SIGNATURE_SEED = 20180314   # one set of inputs for the whole class: equal results, equal signatures
VERDICTS = ("correct", "incorrect", "needs_review", "missing", "read")   # read: a kit reads, decides nothing


def grade_writeup(rubric, files: Sequence[Tuple[str, bytes]], seed: int,
                  skipped: Sequence[str] = ()) -> Dict[str, PartResult]:
    """Every written part of ``rubric``, graded from the submission's ``files``."""
    parts = rubric.written_parts()
    docs = documents(files, rubric.writeup.include, rubric.writeup.exclude)
    found = split_parts(docs, [(p.id, p.written.label, p.written.cues) for p in parts])
    unreadable = [d.problem for d in docs if d.problem]
    unreadable += [s for s in skipped if s.split(":")[0].lower().endswith(SUFFIXES)]
    used = sorted({name for text in found.values() for name in text.sources})
    shared = shared_functions([(d.text, d.plain) for d in docs if d.name in used],
                              parts[0].written.notation) if parts else []
    results: Dict[str, PartResult] = {}
    for part in parts:
        text = found.get(part.id)
        results[part.id] = (_absent(part, unreadable, [d.name for d in docs]) if text is None else
                            _read_part(rubric, part, text, docs, seed, shared))
    _pieces_for_a_ta(parts, results, found, docs)
    scrambled = {d.name: d.scrambled for d in docs if d.scrambled}
    for part in parts:
        results[part.id] = _distrust(part, results[part.id], found.get(part.id), scrambled, docs)
    for result in results.values():
        if used and result.verdict != "missing":
            result.written.setdefault("files", used)
    return results


def _read_part(rubric, part, text, docs, seed: int, shared) -> PartResult:
    """One part found in the write-up: graded, or missing when only the question is there, or for a TA."""
    answer = Answer(part.id, text.text, statements(text.text, text.plain, part.written.notation),
                    part.written.conventions, part.written.notation, _seed(seed, part.id), shared)
    loose = _loose(text, docs)
    mark_given(answer.statements, part.written.given, part.written.notation, loose)
    if loose:       # a formula in pieces is not read at all; nothing is decided incorrect here (_distrust)
        answer.statements[:] = [st for st in answer.statements if st.ok]
        answer.cache["loose"] = True
    if answered(answer.statements, readable_only=loose) or loose and _ANSWER_WORDS.search(text.text):
        return _grade_part(rubric, part, answer, seed, text)
    if has_image(text.text):
        return unread(part, "the answer is an image: a TA reads it",
                      "not graded: %s's answer is an image" % part.title, text.text)
    return _missing(part, "%s: only the question is there (%s), no answer of yours"
                    % (part.title, ", ".join(text.sources)))


def _loose(text, docs) -> bool:
    return any(d.loose for d in docs if d.name in text.sources)


def _pieces_for_a_ta(parts, results: Dict[str, PartResult], found, docs) -> None:
    """A PDF with formulas in pieces in which some part was answered is a write-up, not the handout: its parts
    that seem to hold only the question (or were not found, when such PDFs are all there is) may hold
    answers in pieces no one can read here, so a TA reads them. A handout has no part answered: all missing."""
    in_pieces = {pid for pid, text in found.items() if _loose(text, docs)}
    if not any(results[pid].verdict != "missing" for pid in in_pieces):
        return
    only_pieces = all(d.loose for d in docs if not d.problem)
    for part in parts:
        if results[part.id].verdict == "missing" and (part.id in in_pieces or only_pieces and part.id not in found):
            results[part.id] = unread(part, "its formulas are in pieces in the PDF's text layer: a TA reads it",
                                      "not graded: %s could not be read in the PDF" % part.title,
                                      found[part.id].text if part.id in found else "")


def _distrust(part, result: PartResult, text, scrambled: Dict[str, str], docs) -> PartResult:
    """A part read from a scrambled text layer (or not found in one) is for a person, never ``incorrect``."""
    if not scrambled or result.verdict in ("correct", "needs_review"):
        return result
    # a PDF whose formulas alone are in pieces has headings and prose to trust: what is not there is missing
    trusted = {d.name for d in docs if d.loose}
    if text is None:
        sources = [d.name for d in docs if d.scrambled and d.name not in trusted]
    elif result.verdict == "missing":
        sources = [name for name in text.sources if name not in trusted]
    else:
        sources = text.sources
    why = "; ".join(scrambled[name] for name in sources if name in scrambled)
    if not why:
        return result
    return unread(part, why, "not graded: %s (%s)" % (why, ", ".join(n for n in sources if n in scrambled)),
                  text.text if text is not None else "")


def fingerprint(text: str) -> str:
    """A part's answer, whitespace aside: what an override was made for."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8", "replace")).hexdigest()[:20]


def signature(answer: Answer, final) -> Optional[str]:
    """Equal for two answers whose results are equal: their values on inputs every student shares.

    The review page groups the class's answers by it (as the checks decide equality: by value).
    """
    import numpy as np
    from .answer import Trial
    from .evaluate import EvalError
    for convention in answer.conventions:
        try:
            trial = Trial.build(convention, answer, np.random.default_rng(SIGNATURE_SEED))
            value = trial.evaluator.value(final)
        except (EvalError, ValueError, ZeroDivisionError, OverflowError):
            continue
        if not np.all(np.isfinite(value)):
            continue
        rounded = ["%.6g" % v for v in np.sort(value.ravel())] + [str(sorted(value.shape))]
        return hashlib.sha256((convention.name + ":" + ",".join(rounded)).encode()).hexdigest()[:16]
    return None


def _seed(seed: int, part_id: str) -> int:
    return int(hashlib.sha256(("%d\0%s" % (seed, part_id)).encode()).hexdigest()[:12], 16)


def unread(part, why: str, message: str, text: str = "") -> PartResult:
    """A written part no one could read (a broken file, a reader that failed, a picture): for a person,
    with the reason and what text there is around it."""
    result = score_part(part, "graded", unscored_checks(part, message))
    result.verdict = "needs_review"
    result.written = {"reason": why, "text": text[:MAX_SHOWN_TEXT]}
    return result


def _absent(part, unreadable: List[str], names: List[str]) -> PartResult:
    if unreadable:
        why = "; ".join(unreadable)
        return unread(part, why, "not graded: " + why)
    where = ("your write-up (%s)" % ", ".join(names) if names else
             "your submission: it has no write-up (%s)" % ", ".join(SUFFIXES))
    return _missing(part, "%s not found in %s" % (part.title, where))


_ANSWER_WORDS = re.compile(r"\b(solution|answer|proof)\b|解|证明", re.I)      # a question says "thus" too
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)|<img\b|\\includegraphics|attachment:", re.I)


def has_image(text: str) -> bool:
    """Whether a part's text holds a picture (Markdown, HTML, LaTeX, a notebook's attachment)."""
    return bool(_IMAGE.search(text))


def _missing(part, message: str) -> PartResult:
    """A part with nothing to grade: not in the write-up, or only the question's own statements there."""
    result = score_part(part, "missing", unscored_checks(part, message))
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
            print(NAME + ": internal error in written check %s/%s: %r" % (part.id, spec.id, exc), file=sys.stderr)
            verdict = CheckResult.fail("the grader could not decide this (%s: %s); a TA will read it"
                                       % (type(exc).__name__, exc), 0.0, verdict="needs_review")
        verdicts.append(verdict.details.get("verdict", "correct" if verdict.passed else "incorrect"))
        outcomes.append(score_check(spec, verdict.fraction, verdict.message, dict(verdict.details)))
    result = score_part(part, "graded", outcomes)
    result.verdict = ("needs_review" if "needs_review" in verdicts else "read" if all(v == "read" for v in verdicts)
                      else "correct" if all(v == "correct" for v in verdicts) else "incorrect")
    statement, why = answer.result()
    shown = {"how": text.how, "files": list(text.sources), "fingerprint": fingerprint(answer.text),
             "words": text_prints(answer.text)}
    result.fingerprint = shown["fingerprint"]
    if statement is not None:
        shown["result"] = render_chain(statement.chain)
        final = final_member(statement.chain)
        if final is not None and sum(1 for _ in walk(final)) <= MAX_TREE:
            shown["final_tree"] = final
            shown["signature"] = signature(answer, final)
    for outcome in outcomes:
        for key in ("student", "expected", "expected_tree"):
            if key in outcome.details and key not in shown:
                shown[key] = outcome.details[key]
        outcome.details.pop("expected_tree", None)     # one copy, in the part's record
    if result.verdict == "needs_review":
        shown["reason"] = next(o.message for o, v in zip(outcomes, verdicts) if v == "needs_review")
        shown["text"] = answer.text[:MAX_SHOWN_TEXT]
    unread = [st for st in answer.statements if not st.ok and st.display]
    if unread:
        shown["unread"] = len(unread)
    result.written = shown
    return result
