"""The class report opens offline in a real browser and shows the numbers the gradebook holds."""
from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
from html.parser import HTMLParser

import pytest

from conftest import ROOT, sample_dir

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class Attributes(HTMLParser):
    """Every element's attributes, by tag."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    root = tmp / "class"
    root.mkdir()
    for name in ("correct", "softmax_no_shift", "network_both_mean", "gradcheck_one_sided", "sigmoid_unstable"):
        shutil.copytree(sample_dir(name), root / name)
    (root / "broken.zip").write_bytes(b"not a zip")
    db = tmp / "grades.db"
    cli = [sys.executable, "-m", "grader.cli"]
    subprocess.run(cli + ["batch", str(root), "--db", str(db), "--quiet"], cwd=ROOT, check=True, timeout=300)
    subprocess.run(cli + ["feedback", "--db", str(db), "--out", str(tmp / "feedback")], cwd=ROOT, check=True)
    subprocess.run(cli + ["report", "--db", str(db), "--out", str(tmp / "report.html"), "--feedback-dir", "feedback"],
                   cwd=ROOT, check=True, timeout=120)
    return tmp, db


def test_report_is_self_contained(graded):
    text = (graded[0] / "report.html").read_text()
    assert "<svg" in text
    # Nothing to fetch: no external scripts, styles, images or links (XML namespaces are names, not fetches).
    assert not re.search(r"(src|href)=['\"](https?:)?//", text)


def test_report_in_headless_chromium_shows_the_gradebook(graded):
    from conftest import browser
    browser()
    tmp, db = graded
    page = (tmp / "report.html").as_uri()
    shot = tmp / "report.png"
    run = subprocess.run([CHROMIUM, *FLAGS, "--user-data-dir=%s" % (tmp / "profile"), "--window-size=1200,2400",
                          "--screenshot=%s" % shot, page], capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 10_000, run.stderr[-500:]
    dom = subprocess.run([CHROMIUM, *FLAGS, "--user-data-dir=%s" % (tmp / "profile2"), "--dump-dom", page],
                         capture_output=True, text=True, timeout=120).stdout
    parser = Attributes()
    parser.feed(dom)
    with sqlite3.connect(str(db)) as conn:
        rows = conn.execute("SELECT student, score, status, result FROM grades").fetchall()
    graded_rows = [r for r in rows if r[2] == "graded"]
    overview = next(a for t, a in parser.found if a.get("id") == "overview")
    assert int(overview["data-count"]) == len(rows) == 6
    assert int(overview["data-graded"]) == len(graded_rows) == 5
    assert float(overview["data-mean"]) == pytest.approx(sum(r[1] for r in graded_rows) / 5, abs=1e-3)
    students = {a["data-student"] for t, a in parser.found if "data-student" in a}
    assert students == {r[0] for r in rows}          # every student, an unreadable zip too (with its status)
    passing = {}
    for _, _, _, result in graded_rows:
        for q in json.loads(result)["questions"]:
            for p in q["parts"]:
                for c in p["checks"]:
                    key = "%s/%s" % (p["id"], c["id"])
                    passing[key] = passing.get(key, 0) + bool(c["passed"])
    shown = {a["data-check"]: int(a["data-passed"]) for t, a in parser.found if "data-check" in a}
    assert shown == passing
    assert "broken" in dom.split('id="attention"', 1)[1][:2000]
    links = {a.get("href") for t, a in parser.found if t == "a"}
    assert "feedback/softmax_no_shift.md" in links and (tmp / "feedback" / "softmax_no_shift.md").exists()


def test_a_missing_browser_skips_with_its_reason_unless_ci_requires_it(monkeypatch):
    """Where no browser is installed the browser tests say why and skip; where CI requires one, they fail."""
    import shutil as sh
    from conftest import BROWSER_ENV, browser
    monkeypatch.setattr(sh, "which", lambda name: None)
    monkeypatch.delenv(BROWSER_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no Chromium or chromedriver"):
        browser()
    monkeypatch.setenv(BROWSER_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="requires them"):
        browser()
