"""Documents -> the text of each written part, by headings, else by content.

A heading names a part by the handout's label (question number and letter:
"1.1 a", "2.1a", "# 2.4 d", "(a) (5 points)" under question 2, "Question 2c",
"Problem 2(d)", "\\subsection*{2(c)}"); a letter alone takes its question from
the last question heading. Text under no usable heading goes to a part whose
cues (the rubric's regular expressions) it matches, moving forward through the
rubric's order, as a write-up without headings follows the handout. A part
that is never reached is missing; a label that is not a written part (1b, 2e:
code) ends the part before it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from .sources import Document

_MARKED = re.compile(r"^\s*(?:#{1,6}\s*|\\(?:sub)*section\*?\s*\{|\\paragraph\*?\s*\{|\\item\s*\[|\*\*|__|\\textbf\{)")
_STRIP = re.compile(r"\\(?:mathbf|textbf|boldsymbol|mathrm|text|emph|textit)\s*\{|[$*_{}\[\]#`]|\\(?:sub)*section\*?|\\paragraph\*?|\\item")
_QLETTER = re.compile(r"^(?:question|problem|part|exercise|q)?\s*(\d)(?:\s*\.\s*\d)?\s*[.(]?\s*\(?\s*([a-h])\s*\)?(?=$|[\s.:)\-,(])", re.I)
_LETTER = re.compile(r"^(?:question|problem|part|exercise)?\s*\(\s*([a-h])\s*\)|^([a-h])\)|^([a-h])\.(?=\s)", re.I)
_QUESTION = re.compile(r"^(?:question|problem|exercise|section)\s*(\d)\b|^(\d)\b(?![.\d]*\s*\(?[a-h]\b)", re.I)
_TRAILING_Q = re.compile(r"\b(\d)\s*$")
_SUBSTEP = re.compile(r"^(step|case|stage|method|approach|way|example|equation|eq|lemma|claim|hint|note|part)\b", re.I)
_PICTURE_LABEL = re.compile(r"^!\[\s*(?:q|question|problem)?\s*(\d)\s*\.?\s*\(?\s*([a-h])\s*\)?\s*\]\(", re.I)
_NAMED_INSIDE = re.compile(r"\b(?:problem|question|exercise)\s*(\d)\s*\.?\s*\(?\s*([a-h])\s*\)?\s*[.:]?\s*$", re.I)
_LIST_TITLE = re.compile(r"^(\d)\.\s+[A-Z][\w-]*(?:\s+[A-Za-z][\w-]*){0,4}\s*$")
_POINTS_Q = re.compile(r"^(\d)\s*\.?\s+[A-Za-z][\w\- ,]{2,60}\(\s*\d+\s*(?:points?|pts)\b[^)]{0,30}\)", re.I)
_LATEX_SECTION = re.compile(r"^\s*\\section\s*\{")      # numbered: LaTeX counts it even when its title has no number


@dataclass
class PartText:
    """The text of one part, where it came from and how it was recognized."""

    text: str = ""
    sources: List[str] = field(default_factory=list)
    plain: bool = False
    how: str = "heading"          # heading | content


def heading_label(line: str) -> Tuple[Optional[str], Optional[str]]:
    """(question, letter) a line names as a heading; (None, None) if it is not one."""
    picture = _PICTURE_LABEL.match(line.strip())
    if picture:             # the question pasted as a picture, its label as the alt text: ![2c](2c.jpg)
        return picture.group(1), picture.group(2).lower()
    marked = bool(_MARKED.match(line))
    text = _STRIP.sub(" ", line).strip()
    text = re.sub(r"\s+", " ", text)
    if not text or len(text) > 300:
        return None, None
    match = _QLETTER.match(text)
    if match and (marked or len(text) < 120 or text[match.end():match.end() + 1] in (")", ":", ".")):
        return match.group(1), match.group(2).lower()
    match = _NAMED_INSIDE.search(re.sub(r"\\[A-Za-z]+|\\\\", " ", text)) if len(text) < 120 else None
    if match:               # a title line: "Solution to Homework 1, Problem 2(c)"
        return match.group(1), match.group(2).lower()
    match = _LETTER.match(text)
    if match and (match.group(3) is None or marked or len(text) < 200):
        return None, (match.group(1) or match.group(2) or match.group(3)).lower()
    match = _POINTS_Q.match(text) or _LIST_TITLE.match(line.strip())
    if match:               # a PDF's "3 word2vec (40 points)"; a list's "2. Neural Network Basics"
        return match.group(1), None
    if marked or re.match(r"^(question|problem|exercise|section)\b", text, re.I):
        match = _QUESTION.match(text)
        if match:
            return match.group(1) or match.group(2), None
        if marked and not _SUBSTEP.match(text):
            match = _TRAILING_Q.search(text)
            if match and len(text) < 60:
                return match.group(1), None
    return None, None


def split_parts(docs: Sequence[Document], specs: Sequence[Tuple[str, str, Sequence[str]]]) -> Dict[str, PartText]:
    """``specs``: (part id, label like "2a", cue regexes), in rubric order. Missing parts are absent."""
    by_label = {label.lower(): ident for ident, label, _ in specs}
    questions = {label[:-1] for label in by_label}
    order = [ident for ident, _, _ in specs]
    cues = {ident: [re.compile(c, re.I) for c in patterns] for ident, _, patterns in specs}
    found: Dict[str, PartText] = {}
    for doc in docs:
        if doc.problem or not doc.text.strip():
            continue
        _split_one(doc, by_label, questions, order, cues, found)
    return found


def _split_one(doc: Document, by_label, questions, order, cues, found: Dict[str, PartText]) -> None:
    question: Optional[str] = None
    sections = 0                       # LaTeX's \section counter
    current: Optional[str] = None      # the part the text goes to
    by_heading = False
    block: List[str] = []

    def flush() -> None:
        nonlocal current
        text = "\n".join(block)
        block.clear()
        if not text.strip():
            return
        if not by_heading:
            current = _by_content(text, current, order, cues, found) or current
        if current is not None:
            part = found.setdefault(current, PartText(plain=doc.plain, how="heading" if by_heading else "content"))
            part.text += text + "\n"
            if doc.name not in part.sources:
                part.sources.append(doc.name)

    for line in doc.text.splitlines():
        q, letter = heading_label(line)
        if _LATEX_SECTION.match(line):
            sections = int(q) if q is not None else sections + 1
            q = q or str(sections)
        if q is None and letter is None:
            if not line.strip() and not by_heading:
                flush()
            block.append(line)
            continue
        flush()
        if q is not None:
            question = q
        if letter is None:
            # a question the rubric grades: what follows is placed by content; another (word2vec): ignored
            current, by_heading = None, question not in questions
            continue
        label = (q or question or "") + letter
        ident = by_label.get(label)
        if ident is None and not (q or question):
            matches = [i for lab, i in by_label.items() if lab.endswith(letter)]
            ident = matches[0] if len(matches) == 1 else None
            if len(matches) > 1:       # "(a)" with no question yet: its content decides
                current, by_heading = None, False
                block.append(line)
                continue
        current, by_heading = ident, True
        block.append(line)
    flush()


def _by_content(text: str, current: Optional[str], order, cues, found) -> Optional[str]:
    """The part a block without a heading belongs to: the best cue match ahead of the current part."""
    start = order.index(current) + 1 if current in order else 0
    best, best_score = None, 0
    for ident in order[start:]:
        if ident in found and found[ident].how == "heading":
            continue
        score = sum(1 for c in cues[ident] if c.search(text))
        if score > best_score:
            best, best_score = ident, score
    return best
