"""Similar submissions, for a person to look at: normalized token fingerprints with winnowing, as MOSS does.

At grading time (:func:`code_prints`) each top-level function of the student's
files becomes a list of fingerprints: its tokens normalized (every name a
function or variable the student chose becomes ``N``, every number ``0``, every
string ``S``; comments, docstrings and layout gone; ``xrange`` is ``range``,
Python 2's ``print x`` is ``print(x)``), hashed in windows of ``K`` tokens, and
the smallest hash of every ``W`` consecutive windows kept (winnowing: a shared
run of ``K + W - 1`` tokens is always caught). Renamed variables, reordered
functions, comments and whitespace change nothing; extra dead code only adds
fingerprints, which containment (shared / the smaller side) ignores.

Comparing (:func:`compare`): starter code (``--starter DIR``) and, without it,
any fingerprint that most of the class shares is removed first. Two students'
code score is the size-weighted mean, over the graded functions both wrote, of
the containment of their fingerprints; shared *mistakes* (the same failing
checks and named mistake in a part) raise it by how rare that mistake is in the
class, since a rare bug in common is the strongest sign. Write-ups are compared
the same way on their words. Nothing here is an accusation: a pair above the
threshold is "similar, for a person to look at".

The tokenizer is a regular expression over the text: student code is never
imported, parsed or run here.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

K = 12                 # tokens per window: a shared run shorter than K + W - 1 = 15 tokens is an idiom, not evidence
W = 4                  # windows per winnowing step
WORDS_K = 8            # words per window of a write-up
MAX_SOURCE = 12000     # characters of a function kept for the side-by-side view
DEFAULT_THRESHOLD = 0.6
COMMON = 0.5           # without a starter: a fingerprint in more than this share of the class is starter
MISTAKE_WEIGHT = 0.5

_TOKEN = re.compile(r"""
    (?P<comment>\#[^\n]*)
  | (?P<string>[rRbBuUfF]{0,2}(?:'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"))
  | (?P<number>\d+\.?\d*(?:[eE][-+]?\d+)?[jJlL]?|\.\d+(?:[eE][-+]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<op>\*\*=?|//=?|<<=?|>>=?|->|[-+*/%@&|^<>!=]=|[-+*/%@&|^~<>=(){}\[\].,:;])
  | (?P<newline>\n)
  | (?P<space>[ \t\r\f\\]+)
  | (?P<other>.)
""", re.X)

KEYWORDS = {"False", "None", "True", "and", "as", "assert", "break", "class", "continue", "def", "del", "elif",
            "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
            "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield", "print", "exec"}
# Names that carry the meaning of the code, whoever writes it: numpy and built-ins.
KEPT = {"np", "numpy", "range", "len", "sum", "max", "min", "abs", "zip", "enumerate", "float", "int", "list",
        "tuple", "dict", "random", "shape", "exp", "log", "dot", "reshape", "T", "axis", "keepdims", "zeros",
        "ones", "zeros_like", "ones_like", "copy", "nditer", "multi_index", "iternext", "finished", "getstate",
        "setstate", "argmax", "mean", "sqrt", "newaxis", "expand_dims", "matmul", "outer", "transpose",
        "concatenate", "hstack", "vstack", "flatten", "ravel", "isclose", "allclose", "astype", "ndim", "size",
        "array", "asarray", "float64", "where", "tanh", "maximum", "minimum", "multiply", "divide", "ndarray",
        "isinstance", "norm", "linalg", "flags", "op_flags", "readwrite", "op_dtypes", "xrange"}


def tokens(source: str) -> List[Tuple[str, int]]:
    """(normalized token, line) for Python source, without running or parsing it."""
    out: List[Tuple[str, int]] = []
    line = 1
    previous = ""
    for match in _TOKEN.finditer(source):
        kind = match.lastgroup
        text = match.group(kind)
        here = line
        line += text.count("\n")
        if kind in ("comment", "space", "newline", "other"):
            continue
        if kind == "string":
            if previous in ("", ":"):      # a docstring (or a statement that is just a string): no code
                continue
            token = "S"
        elif kind == "number":
            token = "0"
        elif kind == "name":
            token = "range" if text == "xrange" else text if (text in KEYWORDS or text in KEPT) else "N"
        else:
            token = text
        if previous == "print" and token != "(":
            out.append(("(", here))          # Python 2's print statement reads as a call
        out.append((token, here))
        previous = token
    return out


def winnow(toks: Sequence[Tuple[str, int]], k: int = K, w: int = W) -> List[Tuple[int, int]]:
    """(fingerprint, line) kept by winnowing the k-token windows of ``toks``."""
    words = [t for t, _ in toks]
    if len(toks) < k:
        return [(_hash(" ".join(words)), toks[0][1])] if toks else []
    hashes = [_hash(" ".join(words[i:i + k])) for i in range(len(toks) - k + 1)]
    kept: Dict[int, int] = {}
    for i in range(max(1, len(hashes) - w + 1)):
        best = min(hashes[i:i + w])
        kept.setdefault(best, toks[hashes.index(best, i, i + w)][1])   # the window's first minimum
    return sorted(kept.items(), key=lambda item: item[1])


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=6).digest(), "big")


def top_level_functions(source: str) -> Dict[str, Tuple[int, str]]:
    """name -> (first line, text) of each ``def`` at the margin, cut by lines (never parsed)."""
    found: Dict[str, Tuple[int, str]] = {}
    lines = source.splitlines()
    current: Optional[str] = None
    start, body = 0, []
    for number, line in enumerate(lines, 1):
        starts = re.match(r"def\s+([A-Za-z_]\w*)\s*\(", line)
        at_margin = line.strip() and not line[0].isspace() and not line.startswith("#")
        if current is not None and at_margin and not starts and not line.startswith(("@", ")")):
            found.setdefault(current, (start, "\n".join(body)))
            current = None
        if starts:
            if current is not None:
                found.setdefault(current, (start, "\n".join(body)))
            current, start, body = starts.group(1), number, []
        if current is not None:
            body.append(line)
    if current is not None:
        found.setdefault(current, (start, "\n".join(body)))
    return found


def code_prints(files: Iterable[Tuple[str, bytes]]) -> Dict[str, Any]:
    """The fingerprints of a submission's Python files, per top-level function (``name``) and per file."""
    functions: Dict[str, Any] = {}
    per_file: Dict[str, Any] = {}
    for name, data in sorted(files):
        if not name.endswith(".py") or len(data) > 2_000_000:
            continue
        text = data.decode("utf-8", "replace").replace("\t", "    ")
        per_file[name] = [h for h, _ in winnow(tokens(text))]
        for fname, (start, body) in top_level_functions(text).items():
            prints = winnow([(t, line + start - 1) for t, line in tokens(body)])
            if fname not in functions or len(prints) > len(functions[fname]["prints"]):
                functions[fname] = {"file": name, "start": start, "prints": prints, "source": body[:MAX_SOURCE]}
    return {"functions": functions, "files": per_file}


def text_prints(text: str) -> List[int]:
    """The fingerprints of a write-up part's words (letters and digits, lower case; math symbols too)."""
    words = re.findall(r"[a-z0-9]+|[^\sa-z0-9]", text.lower())
    return [h for h, _ in winnow([(w, 0) for w in words], WORDS_K, W)]


# ---------------------------------------------------------------------------- comparing


@dataclass
class Student:
    """What the comparison needs of one student."""

    name: str
    functions: Dict[str, Set[int]] = field(default_factory=dict)   # graded function -> fingerprints
    lines: Dict[str, Dict[int, int]] = field(default_factory=dict)  # graded function -> fingerprint -> line
    sources: Dict[str, Tuple[str, int, str]] = field(default_factory=dict)   # function -> (file, start, text)
    written: Dict[str, Set[int]] = field(default_factory=dict)      # written part -> fingerprints
    mistakes: Dict[str, str] = field(default_factory=dict)          # part -> its mistake signature


@dataclass
class Pair:
    a: str
    b: str
    score: float
    code: float
    functions: Dict[str, float]
    written: Dict[str, float]
    shared_mistakes: List[Dict[str, Any]]

    def to_dict(self) -> Dict[str, Any]:
        return {"a": self.a, "b": self.b, "score": round(self.score, 4), "code": round(self.code, 4),
                "functions": {k: round(v, 4) for k, v in self.functions.items()},
                "written": {k: round(v, 4) for k, v in self.written.items()},
                "shared_mistakes": self.shared_mistakes,
                "note": "similar, for a person to look at: not a finding of copying"}


def mistake_signature(part: Mapping[str, Any]) -> Optional[str]:
    """A part's mistake as the grader saw it: the failing checks and named mistakes (None when right)."""
    if part.get("score", 0) >= part.get("max_score", 0) or part.get("status") == "missing":
        return None
    if part.get("verdict"):
        written = part.get("written") or {}
        return "written:%s:%s" % (part.get("verdict"), written.get("signature") or "")
    failing = sorted(c["id"] for c in part.get("checks", []) if not c.get("passed"))
    named = sorted(m.get("id", "") for m in part.get("mistakes", []) or [])
    return "code:%s:%s" % (",".join(failing), ",".join(named))


def build(name: str, prints: Mapping[str, Any], result: Optional[Mapping[str, Any]],
          graded: Set[str], starter: Set[int]) -> Student:
    student = Student(name)
    for fname, info in (prints.get("functions") or {}).items():
        if fname not in graded:
            continue
        lines = {int(h): int(line) for h, line in info["prints"] if int(h) not in starter}
        student.functions[fname] = set(lines)
        student.lines[fname] = lines
        student.sources[fname] = (info["file"], info["start"], info["source"])
    for part, hashes in (prints.get("written") or {}).items():
        student.written[part] = {int(h) for h in hashes} - starter
    for question in (result or {}).get("questions", []):
        for part in question.get("parts", []):
            signature = mistake_signature(part)
            if signature:
                student.mistakes[part["id"]] = signature
    return student


def _containment(a: Set[int], b: Set[int]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def common_prints(students: Sequence[Student], share: float = COMMON) -> Set[int]:
    """Fingerprints that more than ``share`` of the class has (in any function): starter, when none is given."""
    if len(students) < 4:
        return set()
    counts: Counter = Counter()
    for s in students:
        counts.update(set().union(*s.functions.values(), *s.written.values()))
    return {h for h, n in counts.items() if n > share * len(students)}


def compare(students: Sequence[Student], threshold: float = DEFAULT_THRESHOLD, min_prints: int = 3) -> List[Pair]:
    """Every pair at or above ``threshold``, most similar first."""
    common = common_prints(students)
    if common:
        for s in students:
            for fname in s.functions:
                s.functions[fname] -= common
            for part in s.written:
                s.written[part] -= common
    frequency: Counter = Counter(sig for s in students for sig in set(s.mistakes.items()))
    index: Dict[Tuple[str, int], List[int]] = defaultdict(list)
    for i, s in enumerate(students):
        for fname, prints in list(s.functions.items()) + [("written:" + p, v) for p, v in s.written.items()]:
            for h in prints:
                index[(fname, h)].append(i)
    candidates: Set[Tuple[int, int]] = set()
    for members in index.values():
        if len(members) > 1:
            candidates.update(combinations(members, 2))
    pairs: List[Pair] = []
    for i, j in candidates:
        a, b = students[i], students[j]
        scores, weights = {}, {}
        for fname in set(a.functions) & set(b.functions):
            if min(len(a.functions[fname]), len(b.functions[fname])) < min_prints:
                continue
            scores[fname] = _containment(a.functions[fname], b.functions[fname])
            weights[fname] = min(len(a.functions[fname]), len(b.functions[fname]))
        code = sum(scores[f] * weights[f] for f in scores) / sum(weights.values()) if scores else 0.0
        shared = [{"part": part, "signature": sig, "students_with_it": frequency[(part, sig)]}
                  for part, sig in a.mistakes.items() if b.mistakes.get(part) == sig]
        rarity = sum(1.0 - (frequency[(m["part"], m["signature"])] - 1) / max(1, len(students) - 1) for m in shared)
        written = {part: _containment(a.written[part], b.written[part])
                   for part in set(a.written) & set(b.written)
                   if min(len(a.written[part]), len(b.written[part])) >= min_prints}
        score = min(1.0, code * (1.0 + MISTAKE_WEIGHT * min(1.0, rarity)))
        if written:
            score = max(score, min(1.0, sum(written.values()) / len(written)))
        if score >= threshold:
            pairs.append(Pair(a.name, b.name, score, code, scores, written, shared))
    pairs.sort(key=lambda p: (-p.score, p.a, p.b))
    return pairs


def clusters(pairs: Sequence[Pair]) -> List[List[str]]:
    """Groups of students linked by flagged pairs (largest first)."""
    parent: Dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in pairs:
        parent[root(p.a)] = root(p.b)
    groups: Dict[str, List[str]] = defaultdict(list)
    for x in parent:
        groups[root(x)].append(x)
    return sorted((sorted(g) for g in groups.values() if len(g) > 1), key=lambda g: (-len(g), g))


def starter_prints(files: Iterable[Tuple[str, bytes]]) -> Set[int]:
    """Every fingerprint of a starter folder's files: never evidence."""
    prints = code_prints(files)
    out: Set[int] = set()
    for info in prints["functions"].values():
        out |= {int(h) for h, _ in info["prints"]}
    for hashes in prints["files"].values():
        out |= set(hashes)
    return out


def dumps(prints: Mapping[str, Any]) -> str:
    return json.dumps(prints, separators=(",", ":"))
