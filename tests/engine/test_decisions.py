"""Issue 24, items 1 and 2: a decision stays with its answer, and shows everywhere as the one that counts.

Through the real commands (``grader batch``, ``override``, ``export``, ``feedback``, ``report``)
and the review page in headless Chromium (as tests/engine/test_review.py drives it).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import SAMPLES, sample_dir
from test_cli import grader
from test_review import Review, export

TYPO = SAMPLES / "written" / "md_1a_sum_typo_needs_review"
PART = "softmax_shift_proof"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Three students with the same needs-review proof (one group), and two code groups of one part."""
    base = tmp_path_factory.mktemp("decisions")
    root = base / "class"
    for name in ("ada", "bea", "cy"):
        shutil.copytree(sample_dir("correct"), root / name)
        shutil.copytree(TYPO, root / name, dirs_exist_ok=True)
    for name in ("softmax_no_shift", "softmax_wrong_axis"):        # softmax wrong in two different ways
        shutil.copytree(sample_dir(name), root / name)
        shutil.copytree(SAMPLES / "written" / "md_hat_circ_correct", root / name, dirs_exist_ok=True)
    db = base / "g.db"
    run = grader("batch", str(root), "--db", str(db), "--rubric", "a1-full", "--jobs", "2", "--quiet")
    assert run.returncode == 0, run.stderr[-2000:]
    return root, db


@pytest.fixture
def copy(graded, tmp_path):
    root = tmp_path / "class"
    shutil.copytree(graded[0], root)
    db = tmp_path / "g.db"
    shutil.copy(graded[1], db)
    return root, db


@pytest.fixture(scope="module")
def driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from conftest import browser
    chromium, chromedriver = browser()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000"):
        options.add_argument(arg)
    chrome = webdriver.Chrome(service=Service(chromedriver), options=options)
    yield chrome
    chrome.quit()


def _rows(driver, url):
    from selenium.webdriver.common.by import By
    driver.get(url)
    return driver.find_elements(By.CSS_SELECTOR, "#queue tr[data-group]")


def _open(driver, row):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    row.find_element(By.CSS_SELECTOR, "a").click()
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "points"))


def _key(driver, key):
    """Press a key on the group page (as a TA does, outside the points box); wait until saved or refused."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.support.ui import WebDriverWait
    here = driver.current_url
    driver.execute_script("document.activeElement.blur()")
    ActionChains(driver).send_keys(key).perform()
    from selenium.common.exceptions import WebDriverException
    # URL and status are read in one script: read apart, the page can navigate between the two reads and
    # Chromium then reports an element of the old document with an error that is not "stale". Any driver
    # error while the page unloads is a reason to look again, not a failure.
    read = "var s = document.getElementById('status'); return [location.href, s ? s.textContent : null];"

    def settled(d):
        url, status = d.execute_script(read)
        return url != here or status not in (None, "", "saving…")
    WebDriverWait(driver, 10, ignored_exceptions=(WebDriverException,)).until(settled)
    return driver.current_url != here


def test_a_changed_answer_reopens_only_its_student_and_a_group_decision_asks_before_replacing(copy, driver):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    root, db = copy
    for student in ("ada", "bea", "cy"):
        assert grader("override", "--db", str(db), student, PART, "1", "--by", "Ana").returncode == 0
    # ada fixes her typo and resubmits: her decision is stale, bea's and cy's stay current
    writeup = root / "ada" / "writeup.md"
    writeup.write_text(writeup.read_text().replace("\\sum_j x_j", "\\sum_j e^{x_j}", 1))
    # dee joins with bea's and cy's answer: one undecided member in a decided group
    shutil.copytree(root / "bea", root / "dee")
    assert grader("batch", str(root), "--db", str(db), "--rubric", "a1-full", "--quiet").returncode == 0
    review = Review(db, by="Ben")
    try:
        rows = [r for r in _rows(driver, review.url) if "1a" in r.text or PART in r.text]
        changed = [r for r in rows if "answer changed since decided" in r.text]
        assert len(changed) == 1 and changed[0].get_attribute("data-size") == "1", [r.text for r in rows]
        progress = driver.find_element(By.ID, "progress")
        assert progress.get_attribute("data-left") == "2", progress.text     # ada (changed) and dee (new)
        _open(driver, changed[0])
        assert [m.get_attribute("data-student") for m in driver.find_elements(By.CSS_SELECTOR, ".member")] == ["ada"]
        assert _key(driver, "f")                                          # full points for ada alone
        group = next(r for r in _rows(driver, review.url) if r.get_attribute("data-size") == "3")
        _open(driver, group)
        already = driver.find_element(By.ID, "already")
        assert already.get_attribute("data-count") == "2" and "2 by Ana: 1/5" in already.text, already.text
        assert "the 1 undecided" in driver.find_element(By.ID, "apply").text
        assert _key(driver, "z")                                          # decides dee only
        rows = export(db)
        assert rows["dee"]["adjusted"][PART]["by"] == "Ben" and rows["dee"]["parts"][PART] == 0
        assert rows["ada"]["adjusted"][PART]["by"] == "Ben" and rows["ada"]["parts"][PART] == 5
        for kept in ("bea", "cy"):
            assert rows[kept]["adjusted"][PART]["by"] == "Ana" and rows[kept]["parts"][PART] == 1
        # the decided group, opened again: one key changes nothing until "replace" is ticked
        group = next(r for r in _rows(driver, review.url) if r.get_attribute("data-size") == "3")
        assert group.get_attribute("data-done") == "1"
        _open(driver, group)
        assert driver.find_element(By.ID, "already").get_attribute("data-count") == "3"
        assert not _key(driver, "f")
        assert "tick 'replace'" in driver.find_element(By.ID, "status").text
        assert all(export(db)[s]["parts"][PART] in (0, 1) for s in ("bea", "cy", "dee"))
        driver.find_element(By.ID, "replace").click()
        assert "all 3 (replacing 3)" in driver.find_element(By.ID, "apply").text
        here = driver.current_url
        driver.find_element(By.ID, "full").click()
        WebDriverWait(driver, 10).until(lambda d: d.current_url != here)
        rows = export(db)
        assert all(rows[s]["adjusted"][PART]["by"] == "Ben" and rows[s]["parts"][PART] == 5
                   for s in ("bea", "cy", "dee"))
    finally:
        review.close()


def test_a_decision_shows_everywhere_as_the_one_that_counts(copy, tmp_path):
    root, db = copy
    run = grader("override", "--db", str(db), "ada", PART, "3", "--comment", "right idea, one slip", "--by", "Ana")
    assert run.returncode == 0, run.stderr
    # the feedback's check table: the TA's points count, the grader's checks stay as the grader's
    feedback = tmp_path / "fb"
    assert grader("feedback", "--db", str(db), "--out", str(feedback)).returncode == 0
    table = [line for line in (feedback / "ada.md").read_text().splitlines() if line.startswith("| q1 | %s" % PART)]
    assert "decided by a TA" in table[0] and "**3/5**" in table[0] and "right idea, one slip" in table[0], table
    assert all("(grader: 0/" in line for line in table[1:]), table
    assert "| 0/" not in "\n".join(table)
    # Gradescope: one test for the decision, the tests add up to the score
    assert grader("feedback", "--db", str(db), "--out", str(feedback), "--format", "gradescope").returncode == 0
    results = json.loads((feedback / "ada.json").read_text())
    decision = [t for t in results["tests"] if PART in t["name"]]
    assert len(decision) == 1 and decision[0]["score"] == 3 and "Ana" in decision[0]["output"]
    assert sum(t["score"] for t in results["tests"]) == results["score"]
    # the CSV: the verdict column follows the decision, the adjusted column says who, points, comment
    csv = grader("export", "--db", str(db), "--format", "csv").stdout.splitlines()
    header, ada = csv[0].split(","), next(line for line in csv if line.startswith("ada,"))
    assert ada.split(",")[header.index(PART + "_verdict")] == "partial", ada
    assert "%s: 3 (grader 0) by Ana: right idea, one slip" % PART in ada
    # the report: counted as decided, not as 'to review'
    report = tmp_path / "r.html"
    assert grader("report", "--db", str(db), "--out", str(report)).returncode == 0
    page = report.read_text()
    review = page.split("id='review'", 1)[1].split("</table>", 1)[0]
    assert "<td>ada</td>" not in review and "<td>bea</td>" in review
    assert "data-part='%s'" % PART in page and "data-verdict='partial'>1<" in page.split("data-part='%s'" % PART)[1]


def test_replacing_another_tas_decision_takes_a_flag(copy):
    _, db = copy
    assert grader("override", "--db", str(db), "ada", PART, "3", "--by", "Ana").returncode == 0
    run = grader("override", "--db", str(db), "ada", PART, "5", "--by", "Ben")
    assert run.returncode == 2 and "decided by Ana" in run.stderr and "--replace" in run.stderr, run.stderr
    assert grader("override", "--db", str(db), "ada", PART, "--remove", "--by", "Ben").returncode == 2
    assert export(db)["ada"]["parts"][PART] == 3
    assert grader("override", "--db", str(db), "ada", PART, "4", "--by", "Ana").returncode == 0   # one's own: fine
    run = grader("override", "--db", str(db), "ada", PART, "5", "--by", "Ben", "--replace")
    assert run.returncode == 0 and "replaces Ana's 4" in run.stdout, run.stdout + run.stderr
    assert export(db)["ada"]["adjusted"][PART]["by"] == "Ben"


def test_a_mistyped_student_or_part_gets_a_did_you_mean(copy):
    _, db = copy
    for args, words in ((["Ada", PART, "1"], "did you mean 'ada'?"), (["softmax_noshift", PART, "1"],
                        "did you mean 'softmax_no_shift'"), (["ada", "softmax_shift_prof", "1"],
                        "did you mean '%s'?" % PART)):
        run = grader("override", "--db", str(db), *args)
        assert run.returncode == 2 and words in run.stderr, run.stderr


def test_code_groups_of_one_part_can_be_told_apart_in_the_review_index(copy):
    from test_review import request
    _, db = copy
    review = Review(db)
    try:
        status, page = request(review.port, "GET", "/")
    finally:
        review.close()
    rows = [r for r in page.split("<tr")[1:] if 'data-part="softmax"' in r]
    assert len(rows) == 2, rows
    what = [r.split('class="muted what">', 1)[1].split("</div>", 1)[0] for r in rows]
    assert what[0] != what[1] and all(w.startswith("fails: ") for w in what), what


def test_the_report_links_feedback_from_anywhere_and_shows_status_lateness_and_decisions(copy, tmp_path):
    """Item 9: the report written into another folder than the feedback's, links resolved as a browser does."""
    from urllib.parse import unquote, urljoin
    from urllib.request import url2pathname
    root, db = copy
    (root / "broken.zip").write_bytes(b"not a zip")
    assert grader("batch", str(root), "--db", str(db), "--rubric", "a1-full", "--quiet").returncode == 0
    assert grader("override", "--db", str(db), "ada", PART, "3.3333", "--comment", "one slip", "--by", "Ana").returncode == 0
    work = tmp_path / "work"
    work.mkdir()
    assert grader("feedback", "--db", str(db), "--out", "feedback", cwd=work).returncode == 0
    run = grader("report", "--db", str(db), "--out", "out/class/report.html", "--feedback-dir", "feedback", cwd=work)
    assert run.returncode == 0 and "warning" not in run.stderr, run.stderr
    report = work / "out" / "class" / "report.html"
    page = report.read_text()
    table = page.split("id='students'", 1)[1].split("</table>", 1)[0]
    links = [h for h in table.split("href='")[1:]]
    assert links
    for href in links:
        target = Path(url2pathname(unquote(urljoin(report.as_uri(), href.split("'", 1)[0])[len("file://"):])))
        assert target.is_file(), (href, target)
    rows = {r.split("'", 1)[0]: r for r in table.split("data-student='")[1:]}
    assert "data-status='error'" in rows["broken"] and "data-status='graded'" in rows["ada"]
    assert "%s: 3.33 by Ana: one slip" % PART in rows["ada"]
    assert "<th>late</th>" in table
    # points rounded the same way in the report, the feedback and the CSV (the JSON keeps 4 decimals, for scripts)
    csv = grader("export", "--db", str(db), "--format", "csv").stdout
    outputs = (page, (work / "feedback" / "ada.md").read_text(), csv)
    assert all("3.33" in text and "3.3333" not in text for text in outputs)
