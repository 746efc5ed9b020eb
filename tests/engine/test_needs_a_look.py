"""Issue 24, item 8: what needs a look is grouped by reason, incidents first, common reasons in one line."""
from __future__ import annotations

import shutil

from conftest import sample_dir
from test_cli import grader


def test_an_infinite_loop_leads_and_missing_write_ups_are_one_line(tmp_path):
    root = tmp_path / "class"
    for n in range(4):
        shutil.copytree(sample_dir("correct"), root / ("code_only_%d" % n))     # no write-up: 6 written parts missing
    shutil.copytree(sample_dir("correct"), root / "zz_loops")
    source = root / "zz_loops" / "q1_softmax.py"
    source.write_text(source.read_text().replace('    x = np.array(x, dtype=np.float64)',
                                                 '    while True:\n        pass\n    x = np.array(x, dtype=np.float64)', 1))
    db = tmp_path / "g.db"
    run = grader("batch", str(root), "--db", str(db), "--rubric", "a1-full", "--timeout", "1", "--jobs", "2")
    assert run.returncode == 0, run.stderr
    out = " ".join(run.stdout.split())      # rich wraps long lines at the terminal's width
    assert out.index("needs a look: timed out") < out.index("needs a look: missing: 5 students"), run.stdout
    assert out.count("needs a look:") == 2 and "zz_loops (softmax)" in out
    assert all("code_only_%d" % n in out.split("needs a look: missing", 1)[1] for n in range(4))
    report = tmp_path / "report.html"
    assert grader("report", "--db", str(db), "--out", str(report)).returncode == 0
    section = report.read_text().split("id='attention'", 1)[1].split("</ul>", 1)[0]
    assert section.index("timed out") < section.index("missing") and section.count("<li") == 2
    assert "<b>missing</b>: 5 students" in section
