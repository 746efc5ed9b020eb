"""The class report: one self-contained HTML file (no network; plots embedded as SVG).

Shows the score distribution, per-question and per-part means, a pass rate for
every check, the most frequent hints, the submissions that need a human (could
not be graded, timed out, crashed), and a sortable table of students linking to
their feedback. Every number comes from :func:`report.summary.class_summary`,
and the key figures are also written as ``data-`` attributes so tests (and
scripts) can read them from the page.
"""
from __future__ import annotations

import html
import io
import os
from typing import List, Optional, Tuple
from urllib.parse import quote

from .. import NAME
from .common import clean, feedback_file, shown
from .summary import VERDICTS, ClassSummary

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
h1{margin-bottom:.2em} h2{margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0} td,th{padding:.25em .7em;border-bottom:1px solid #eee;text-align:left}
th{cursor:pointer;background:#f6f6f6} td.num,th.num{text-align:right}
.figs{display:flex;flex-wrap:wrap;gap:1em} .figs svg{max-width:100%;height:auto}
.bad{color:#b00020} .muted{color:#777}
"""

SORT_JS = """
document.querySelectorAll('table.sortable th').forEach(function(th, col){
  th.addEventListener('click', function(){
    var table = th.closest('table'), body = table.tBodies[0];
    var rows = Array.from(body.rows), asc = th.dataset.asc !== '1';
    rows.sort(function(a, b){
      var x = a.cells[col].dataset.v || a.cells[col].textContent, y = b.cells[col].dataset.v || b.cells[col].textContent;
      var nx = parseFloat(x), ny = parseFloat(y);
      var r = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return asc ? r : -r;
    });
    rows.forEach(function(r){ body.appendChild(r); });
    th.dataset.asc = asc ? '1' : '0';
  });
});
"""


def _svg(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    import matplotlib.pyplot as plt
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def plots(summary: ClassSummary) -> Tuple[str, str, str]:
    """(histogram, part means, check pass rates) as inline SVG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams["svg.hashsalt"] = NAME   # stable ids: the same gradebook gives the same file

    fig, ax = plt.subplots(figsize=(5, 3))
    bins = summary.histogram()
    ax.bar([(lo + hi) / 2 for lo, hi, _ in bins], [c for _, _, c in bins],
           width=(bins[0][1] - bins[0][0]) * 0.9 if bins else 1, color="#4c72b0")
    ax.set_xlabel("score (of %g)" % summary.max_score)
    ax.set_ylabel("students")
    ax.set_title("Score distribution")
    histogram = _svg(fig)

    names = list(summary.part_means)
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.barh(names, [100 * m / t if t else 0 for m, t in summary.part_means.values()], color="#55a868")
    ax.set_xlim(0, 100)
    ax.invert_yaxis()
    ax.set_xlabel("mean, % of the part's points")
    ax.set_title("Parts")
    parts = _svg(fig)

    checks = list(summary.check_pass)
    fig, ax = plt.subplots(figsize=(6, 0.25 * len(checks) + 1))
    ax.barh(checks, [100 * p / t for p, t in summary.check_pass.values()], color="#c44e52")
    ax.set_xlim(0, 100)
    ax.invert_yaxis()
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlabel("% of submissions passing")
    ax.set_title("Checks")
    checks_svg = _svg(fig)
    return histogram, parts, checks_svg


def esc(text) -> str:
    """Text or attribute value for this page: cleaned, then &, <, >, " and ' escaped (attributes use either quote)."""
    return html.escape(clean(text), quote=True)


def feedback_href(feedback_dir: str, student: str) -> str:
    """The link to a student's feedback file, named as ``grader feedback`` names it (:func:`common.feedback_file`).

    The name is percent-encoded: a student id with '#', '?' or '%' still points at its file.
    """
    return "%s/%s" % (quote(feedback_dir.replace(os.sep, "/")), quote(feedback_file(student), safe=""))


def feedback_link(feedback_dir: str, report_path: str) -> Tuple[str, Optional[str]]:
    """(the feedback folder as seen from the report's folder, a warning or None).

    ``feedback_dir`` is a path as the TA typed it for ``grader feedback --out``: from the current folder
    (or absolute), wherever the report is written. A folder found only beside the report is taken as
    relative to it (how the option was once read); one found nowhere is linked as given, and said.
    """
    here = os.path.dirname(os.path.abspath(report_path))
    if os.path.isabs(feedback_dir) or os.path.isdir(feedback_dir):
        return os.path.relpath(os.path.abspath(feedback_dir), here), None
    if os.path.isdir(os.path.join(here, feedback_dir)):
        return feedback_dir, None
    return (os.path.relpath(os.path.abspath(feedback_dir), here),
            "feedback folder %s not found (grader feedback --out %s writes it): the report's links point there"
            % (feedback_dir, feedback_dir))


def render(summary: ClassSummary, title: str = NAME + " class report", feedback_dir: Optional[str] = None,
           similar: Optional[List[dict]] = None, students: Optional[List[dict]] = None) -> str:
    """The page; every string from the gradebook (student ids, reasons, hints, ids) goes through :func:`esc`.

    ``feedback_dir``: the feedback folder as a link from the report's own folder; ``students``: the rows of
    the student table (export.student_row's dicts), else the summary's scores alone."""
    histogram, parts_svg, checks_svg = plots(summary)
    out: List[str] = ["<!doctype html><html><head><meta charset='utf-8'><title>%s</title><style>%s</style></head><body>"
                      % (esc(title), STYLE)]
    out.append("<h1>%s</h1>" % esc(title))
    out.append("<p id='overview' data-count='%d' data-graded='%d' data-mean='%.4f' data-max='%g'>"
               "%d submissions, %d graded; mean score <b>%.2f</b> of %g.</p>"
               % (summary.count, summary.graded, summary.mean, summary.max_score, summary.count, summary.graded,
                  summary.mean, summary.max_score))
    if summary.meta:
        out.append("<p id='meta' class='muted'>%s; report made %s.</p>" % ("; ".join(
            "%s: %s" % (esc(k), esc(", ".join(v))) for k, v in summary.meta.items()),
            esc(__import__("time").strftime("%Y-%m-%d %H:%M UTC", __import__("time").gmtime()))))
    out.append("<div class='figs'>%s%s</div>" % (histogram, parts_svg))

    out.append("<h2>Questions and parts</h2><table id='means'><tr><th>item</th><th class='num'>mean</th>"
               "<th class='num'>of</th></tr>")
    for name, (mean, top) in list(summary.question_means.items()) + list(summary.part_means.items()):
        out.append("<tr data-item='%s' data-mean='%.4f'><td>%s</td><td class='num'>%.2f</td><td class='num'>%g</td></tr>"
                   % (esc(name), mean, esc(name), mean, top))
    out.append("</table>")

    out.append("<h2>Checks</h2><div class='figs'>%s</div><table id='checks'><tr><th>check</th>"
               "<th class='num'>passing</th></tr>" % checks_svg)
    for name, (passed, total) in summary.check_pass.items():
        out.append("<tr data-check='%s' data-passed='%d' data-total='%d'><td>%s</td><td class='num'>%d / %d</td></tr>"
                   % (esc(name), passed, total, esc(name), passed, total))
    out.append("</table>")

    out.append("<h2>Most frequent hints</h2><table id='hints'><tr><th>hint</th><th class='num'>students</th></tr>")
    for hint, count in summary.hints[:20]:
        out.append("<tr data-count='%d'><td>%s</td><td class='num'>%d</td></tr>" % (count, esc(hint), count))
    out.append("</table>")

    if summary.verdicts:
        out.append("<h2>Written answers</h2><table id='verdicts'><tr><th>part</th>%s</tr>" % "".join(
            "<th class='num'>%s</th>" % v.replace("_", " ") for v in VERDICTS))
        for part, counts in summary.verdicts.items():
            out.append("<tr data-part='%s'>%s%s</tr>" % (esc(part), "<td>%s</td>" % esc(part), "".join(
                "<td class='num' data-verdict='%s'>%d</td>" % (v, counts[v]) for v in VERDICTS)))
        out.append("</table>")
        out.append("<h3>To review (%d)</h3><table id='review'><tr><th>student</th><th>part</th><th>why</th>"
                   "<th>answer as read</th></tr>" % len(summary.review))
        for student, part, why, answer in summary.review:
            out.append("<tr><td>%s</td><td>%s</td><td>%s</td><td class='math'>%s</td></tr>"
                       % (esc(student), esc(part), esc(why), esc(answer)))
        out.append("</table>")

    if summary.adjusted or summary.stale:
        out.append("<h2>Decided by TAs</h2><p id='adjusted' data-count='%d'>%d parts adjusted by a TA "
                   "(grader review, grader override).</p>" % (summary.adjusted, summary.adjusted))
        if summary.stale:
            out.append("<ul id='stale'>%s</ul>" % "".join(
                "<li class='bad'><b>%s</b>: %s: decided by %s for an earlier answer; not applied until looked "
                "at again</li>" % (esc(s), esc(p), esc(b)) for s, p, b in summary.stale))

    if similar:
        out.append("<h2>Similar submissions</h2><p class='muted'>From the last <code>grader similar</code>: more "
                   "alike than independent work usually is, for a person to look at; not a finding.</p>"
                   "<table id='similar'><tr><th class='num'>score</th><th>students</th><th>same mistakes</th></tr>")
        for p in similar[:100]:
            out.append("<tr><td class='num'>%.2f</td><td>%s ~ %s</td><td>%s</td></tr>" % (
                float(p.get("score", 0)), esc(p.get("a", "")), esc(p.get("b", "")),
                esc(", ".join(str(m.get("part", "")) for m in p.get("shared_mistakes", []) or []))))
        out.append("</table>")

    out.append("<h2>Needs a human</h2>")
    if summary.attention:   # grouped by reason, incidents first, common reasons counted (summary.look_lines)
        out.append("<ul id='attention'>%s</ul>" % "".join(
            "<li class='bad'><b>%s</b>: %s</li>" % (esc(kind), esc(rest))
            for kind, _, rest in (line.partition(": ") for line in summary.look_lines())))
    else:
        out.append("<p id='attention' class='muted'>Nothing: every submission was graded normally.</p>")

    out += student_table(students if students is not None else
                         [{"student": s, "score": v, "status": "graded"} for s, v in summary.scores.items()], feedback_dir)
    out.append("<script>%s</script></body></html>" % SORT_JS)
    return "\n".join(out) + "\n"


def student_table(students: List[dict], feedback_dir: Optional[str]) -> List[str]:
    """One sortable row per student (export.student_row's dicts): score as every output rounds it, status, lateness, and
    each TA decision with who, points and comment (a stale one said so); linked to the feedback file."""
    out = ["<h2>Students</h2><table id='students' class='sortable'><thead><tr><th>student</th><th class='num'>score"
           "</th><th>status</th><th>late</th><th>decided by TAs</th></tr></thead><tbody>"]
    for f in sorted(students, key=lambda f: str(f["student"])):
        name = esc(f["student"])
        if feedback_dir is not None:
            name = "<a href='%s'>%s</a>" % (esc(feedback_href(feedback_dir, f["student"])), name)
        score = f.get("score")
        late = "no time recorded" if "late" in f and f["late"] is None else ""
        if f.get("late"):
            late = "%s h" % shown(f["late_hours"]) if f.get("late_hours") is not None else "late"
            if f.get("late_penalty_percent"):
                late += ", &minus;%s%%" % shown(f["late_penalty_percent"])
        decisions = "; ".join(
            ("%s: stale (by %s, for an earlier answer)" % (esc(p), esc(a["by"]))) if a.get("stale") else
            "%s: %s by %s%s" % (esc(p), shown(a["points"]), esc(a["by"]), ": " + esc(a["comment"]) if a["comment"] else "")
            for p, a in (f.get("adjusted") or {}).items())
        out.append("<tr data-student='%s' data-status='%s'><td>%s</td><td class='num' data-v='%s'>%s</td><td>%s</td>"
                   "<td data-v='%s'>%s</td><td class='decided'>%s</td></tr>"
                   % (esc(f["student"]), esc(f.get("status", "")), name, "-1" if score is None else "%.4f" % score,
                      "" if score is None else shown(score), esc(f.get("status", "")),
                      f.get("late_hours") or 0, late, decisions))
    out.append("</tbody></table>")
    return out
