"""``grader similar``'s outputs: text, JSON, and an HTML page with each pair side by side.

Every page says what a flag is: similar, for a person to look at, not a finding.
Student ids and code are escaped; shared regions (lines holding a shared
fingerprint) are highlighted on both sides.
"""
from __future__ import annotations

import html
import json
from typing import Dict, List, Sequence

from ..similarity import Pair, Student, clusters
from .common import clean

NOTE = ("Similar, for a person to look at: more alike than independent work usually is. "
        "Not a finding of copying; shared starter code is left out.")
SHOWN_PAIRS = 50


def to_json(pairs: Sequence[Pair]) -> str:
    return json.dumps([p.to_dict() for p in pairs], indent=2, ensure_ascii=False) + "\n"


def to_text(pairs: Sequence[Pair]) -> str:
    lines = [NOTE, ""]
    if not pairs:
        lines.append("no pair above the threshold")
    for p in pairs:
        parts = ", ".join("%s %.2f" % (f, s) for f, s in sorted(p.functions.items(), key=lambda x: -x[1]))
        written = ", ".join("%s %.2f" % (f, s) for f, s in p.written.items())
        mistakes = ", ".join("%s (%d with it)" % (m["part"], m["students_with_it"]) for m in p.shared_mistakes)
        lines.append("%.2f  %s ~ %s   code %.2f [%s]%s%s" % (
            p.score, clean(p.a, 80), clean(p.b, 80), p.code, parts,
            "  written [%s]" % written if written else "", "  same mistakes: " + mistakes if mistakes else ""))
    for group in clusters(pairs):
        if len(group) > 2:
            lines.append("cluster: " + ", ".join(clean(s, 80) for s in group))
    return "\n".join(lines) + "\n"


def _side(student: Student, fname: str, shared: set) -> str:
    if fname not in student.sources:
        return "<td class='muted'>(not written)</td>"
    file, start, text = student.sources[fname]
    marked = {line for h, line in student.lines.get(fname, {}).items() if h in shared}
    rows = []
    for number, line in enumerate(text.splitlines(), start):
        cls = " class='shared'" if number in marked else ""
        rows.append("<span%s>%4d  %s</span>" % (cls, number, html.escape(clean(line, 400))))
    return "<td><div class='file'>%s</div><pre>%s</pre></td>" % (html.escape(clean(file)), "\n".join(rows))


def to_html(pairs: Sequence[Pair], students: Dict[str, Student], threshold: float) -> str:
    esc = lambda text: html.escape(clean(text))   # noqa: E731
    out: List[str] = ["<!doctype html><html><head><meta charset='utf-8'><title>a1grader: similar submissions</title>"
                      "<style>body{font:14px system-ui,sans-serif;margin:1.5em}td{vertical-align:top;border-bottom:"
                      "1px solid #ddd;padding:.3em .5em}pre{font-size:12px;margin:0;white-space:pre-wrap}"
                      ".shared{background:#ffe08a}.muted{color:#777}.file{color:#555;font-size:12px}</style></head><body>",
                      "<h1>Similar submissions</h1><p id='note'>%s Threshold %.2f.</p>" % (esc(NOTE), threshold)]
    out.append("<table id='pairs'><tr><th>score</th><th>students</th><th>code</th><th>written</th><th>same mistakes</th></tr>")
    for k, p in enumerate(pairs):
        out.append("<tr data-a='%s' data-b='%s' data-score='%.4f'><td>%.2f</td><td><a href='#pair%d'>%s ~ %s</a></td>"
                   "<td>%.2f</td><td>%s</td><td>%s</td></tr>" % (
                       esc(p.a), esc(p.b), p.score, p.score, k, esc(p.a), esc(p.b), p.code,
                       esc(", ".join("%s %.2f" % kv for kv in p.written.items())),
                       esc(", ".join("%s (%d)" % (m["part"], m["students_with_it"]) for m in p.shared_mistakes))))
    out.append("</table>")
    groups = [g for g in clusters(pairs) if len(g) > 2]
    if groups:
        out.append("<h2>Clusters</h2><ul>%s</ul>" % "".join("<li>%s</li>" % esc(", ".join(g)) for g in groups))
    for k, p in enumerate(pairs[:SHOWN_PAIRS]):
        a, b = students[p.a], students[p.b]
        out.append("<h2 id='pair%d'>%s ~ %s: %.2f</h2>" % (k, esc(p.a), esc(p.b), p.score))
        out.append("<table class='side'><tr><th></th><th>%s</th><th>%s</th></tr>" % (esc(p.a), esc(p.b)))
        for fname, score in sorted(p.functions.items(), key=lambda x: -x[1]):
            shared = a.functions.get(fname, set()) & b.functions.get(fname, set())
            out.append("<tr><td>%s<br>%.2f</td>%s%s</tr>" % (esc(fname), score, _side(a, fname, shared),
                                                          _side(b, fname, shared)))
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
