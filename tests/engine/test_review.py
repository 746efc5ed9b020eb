"""A TA's decisions: overrides in the gradebook, kept through regrades, and the review page in a real browser.

The browser is Debian's headless Chromium driven by Selenium through Debian's chromedriver
(.ci/run installs both).
"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, SAMPLES, sample_dir
from test_cli import grader

WRITTEN = SAMPLES / "written"
HOSTILE = ("## 2a\n$$\\sigma'(x) = \\frac{e^{-x}}{(1+e^{-x})^2} = <script>window.__pwned=1</script> "
           "</textarea><img src=x onerror=\"window.__pwned=2\"> = " + "x + " * 250_000 + "1$$\n"
           "## 2d\n$$(D_x + 1) H + (H + 1) D_y$$\n")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A small class through `grader batch --rubric a1-full`: twins, a hostile write-up, crashing code."""
    base = tmp_path_factory.mktemp("review")
    root = base / "class"
    for name in ("typo_one", "typo_two"):          # the same answers: one group
        shutil.copytree(sample_dir("correct"), root / name)
        shutil.copytree(WRITTEN / "md_1a_sum_typo_needs_review", root / name, dirs_exist_ok=True)
    shutil.copytree(sample_dir("correct"), root / "crasher")       # q2_neural.py does not load: a code part in error
    shutil.copytree(WRITTEN / "md_hat_circ_correct", root / "crasher", dirs_exist_ok=True)
    (root / "crasher" / "q2_neural.py").write_text("import numpy as np\n\ndef forward_backward_prop(data, labels, params:\n")
    for name in sorted(p.name for p in WRITTEN.iterdir() if p.is_dir()):     # the written samples, beside code
        shutil.copytree(sample_dir("correct"), root / name)
        shutil.copytree(WRITTEN / name, root / name, dirs_exist_ok=True)
    (root / "hostile").mkdir()
    (root / "hostile" / "answers.md").write_text(HOSTILE)
    db = base / "g.db"
    run = grader("batch", str(root), "--db", str(db), "--rubric", "a1-full", "--jobs", "2", "--quiet")
    assert run.returncode == 0, run.stderr[-2000:]
    return root, db


def copy_db(graded, tmp_path) -> Path:
    db = tmp_path / "g.db"
    shutil.copy(graded[1], db)
    return db


def export(db: Path) -> dict:
    run = grader("export", "--db", str(db), "--format", "json")
    assert run.returncode == 0, run.stderr
    return {row["student"]: row for row in json.loads(run.stdout)}


def test_an_override_is_applied_said_kept_through_force_and_stale_when_the_answer_changes(graded, tmp_path):
    root = tmp_path / "class"
    shutil.copytree(graded[0], root)
    db = copy_db(graded, tmp_path)
    before = export(db)["typo_one"]
    assert before["verdicts"]["softmax_shift_proof"] == "needs_review" and before["parts"]["softmax_shift_proof"] == 0
    run = grader("override", "--db", str(db), "typo_one", "softmax_shift_proof", "4", "--comment", "a typo; right idea",
                 "--by", "Ana")
    assert run.returncode == 0, run.stderr
    after = export(db)["typo_one"]
    assert after["parts"]["softmax_shift_proof"] == 4 and after["score"] == before["score"] + 4
    assert after["adjusted"]["softmax_shift_proof"]["by"] == "Ana"
    feedback = tmp_path / "fb"
    assert grader("feedback", "--db", str(db), "--out", str(feedback)).returncode == 0
    text = (feedback / "typo_one.md").read_text()
    assert "adjusted by a TA (Ana" in text and "a typo; right idea" in text
    assert grader("feedback", "--db", str(db), "--out", str(feedback), "--format", "gradescope").returncode == 0
    results = json.loads((feedback / "typo_one.json").read_text())
    assert results["score"] == after["score"] and "adjusted by a TA" in results["output"]
    csv = grader("export", "--db", str(db), "--format", "csv").stdout
    assert "softmax_shift_proof: 4 (grader 0) by Ana" in csv
    # a regrade keeps it
    assert grader("batch", str(root), "--db", str(db), "--rubric", "a1-full", "--force", "--quiet").returncode == 0
    assert export(db)["typo_one"]["parts"]["softmax_shift_proof"] == 4
    assert grader("override", "--db", str(db), "--list", "--stale").stdout.strip() == ""
    # a changed answer turns it stale: kept, listed, not applied
    writeup = root / "typo_one" / "writeup.md"
    writeup.write_text(writeup.read_text().replace("\\sum_j x_j", "\\sum_j e^{x_j}", 1))
    assert grader("batch", str(root), "--db", str(db), "--rubric", "a1-full", "--quiet").returncode == 0
    listed = grader("override", "--db", str(db), "--list", "--stale").stdout
    assert "typo_one\tsoftmax_shift_proof\t4\tAna" in listed and "STALE" in listed
    row = export(db)["typo_one"]
    assert row["parts"]["softmax_shift_proof"] == 5 and row["adjusted"]["softmax_shift_proof"]["stale"] is True
    report = tmp_path / "r.html"
    assert grader("report", "--db", str(db), "--out", str(report)).returncode == 0
    assert "id='stale'" in report.read_text()


def test_override_errors_are_one_line_with_exit_code_2(graded, tmp_path):
    db = copy_db(graded, tmp_path)
    for args, words in ((["nobody", "softmax", "3"], "no graded result"), (["typo_one", "nopart", "3"], "no part"),
                        (["typo_one", "softmax", "7"], "between 0 and 5"), (["typo_one", "softmax"], "POINTS or")):
        run = grader("override", "--db", str(db), *args)
        assert run.returncode == 2 and words in run.stderr and len(run.stderr.strip().splitlines()) == 1, run.stderr


class Review:
    """`grader review` in a child process, on a free port."""

    def __init__(self, db: Path, by: str = "Ana"):
        self.proc = subprocess.Popen([sys.executable, "-m", "grader.cli", "review", "--db", str(db), "--no-browser",
                                      "--by", by], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert "http://127.0.0.1:" in line, line + self.proc.stderr.read()
        self.url = line.split()[2]
        self.port = int(self.url.rsplit(":", 1)[1].strip("/"))

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def request(port: int, method: str, path: str, host: str = None, body: dict = None, headers: dict = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    sent = dict(headers or {})
    sent["Host"] = host or "127.0.0.1:%d" % port
    data = json.dumps(body).encode() if body is not None else None
    if data:
        sent["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=sent)
    response = conn.getresponse()
    return response.status, response.read().decode()


def test_the_review_server_refuses_other_hosts_forms_and_stale_pages(graded, tmp_path):
    db = copy_db(graded, tmp_path)
    review = Review(db)
    try:
        assert request(review.port, "GET", "/")[0] == 200
        assert request(review.port, "GET", "/", host="attacker.example:%d" % review.port)[0] == 403
        status, queue = request(review.port, "GET", "/")
        crash = queue.split("forward_backward_prop", 1)[1].split("href=\"/group/", 1)[1].split("\"", 1)[0]
        status, page = request(review.port, "GET", "/group/" + crash)
        assert status == 200 and "def forward_backward_prop(data, labels, params:" in page   # the student's source
        status, page = request(review.port, "GET", "/")
        gid = page.split("data-group=\"", 1)[1].split("\"", 1)[0]
        status, page = request(review.port, "GET", "/group/" + gid)
        token = page.split('name="review-token" content="', 1)[1].split('"', 1)[0]
        versions = json.loads(page.split("data-versions='", 1)[1].split("'", 1)[0].replace("&#34;", '"'))
        decision = {"group": gid, "points": 1, "comment": "", "versions": versions}
        assert request(review.port, "POST", "/decide", body=decision)[0] == 403            # no token: a form elsewhere
        assert request(review.port, "POST", "/decide", body=decision, headers={"X-Review-Token": token})[0] == 200
        # a second TA with the same (old) page cannot overwrite the first one's decision silently
        status, reply = request(review.port, "POST", "/decide", body=dict(decision, points=2),
                                headers={"X-Review-Token": token})
        assert status == 409 and "decided meanwhile by Ana" in reply
    finally:
        review.close()


def test_a_ta_reviews_every_group_in_a_real_browser(graded, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    db = copy_db(graded, tmp_path)
    needing = {(s, p) for s, row in export(db).items() for p, v in row["verdicts"].items() if v == "needs_review"}
    assert ("hostile", "sigmoid_derivative") in needing and ("typo_one", "softmax_shift_proof") in needing
    options = webdriver.ChromeOptions()
    from conftest import browser
    chromium, chromedriver = browser()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    review = Review(db)
    try:
        driver.get(review.url)
        left = int(driver.find_element(By.ID, "progress").get_attribute("data-left"))
        assert left >= 4
        rows = driver.find_elements(By.CSS_SELECTOR, "#queue tr[data-group]")
        sizes = [int(r.get_attribute("data-size")) for r in rows]
        assert sizes == sorted(sizes, reverse=True) and sizes[0] == 3      # the typo, three times, comes first
        decided = 0
        for _ in range(20):
            driver.get(review.url)
            if int(driver.find_element(By.ID, "progress").get_attribute("data-left")) == 0:
                break
            driver.switch_to.active_element.send_keys(Keys.ENTER)      # the first group left has the focus
            WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "points"))
            if decided == 0:
                shot = tmp_path / "review.png"
                driver.save_screenshot(str(shot))
                if os.environ.get("A1GRADER_SCREENSHOT_DIR"):
                    shutil.copy(shot, Path(os.environ["A1GRADER_SCREENSHOT_DIR"]) / "review.png")
            comment = driver.find_element(By.ID, "comment")
            comment.clear()
            comment.send_keys("reviewed <b>by hand</b>")
            points = driver.find_element(By.ID, "points")
            points.clear()
            here = driver.current_url
            points.send_keys("1", Keys.ENTER)
            # saved, the page moves on to the next group left (or the queue)
            WebDriverWait(driver, 10).until(lambda d: d.current_url != here)
            decided += 1
        else:
            pytest.fail("the queue never emptied")
        # the hostile answer showed as text, ran nothing, and did not break the page
        assert driver.execute_script("return window.__pwned === undefined")
        driver.get(review.url)
        assert driver.find_element(By.ID, "progress").get_attribute("data-left") == "0"
        assert all(r.get_attribute("data-done") == "1" for r in driver.find_elements(By.CSS_SELECTOR, "#queue tr[data-group]"))
        links = [r.find_element(By.CSS_SELECTOR, "a").get_attribute("href")
                 for r in driver.find_elements(By.CSS_SELECTOR, "#queue tr[data-group]") if "2a" in r.text]
        shown = []
        for link in links:         # the 2a groups: the hostile answer's is among them
            driver.get(link)
            WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".member"))
            driver.find_element(By.CSS_SELECTOR, "details summary").click()
            shown.append(driver.find_element(By.CSS_SELECTOR, "pre.text").text)
        assert any("<script>window.__pwned=1</script>" in text for text in shown), shown
        assert driver.execute_script("return window.__pwned === undefined")
    finally:
        review.close()
        driver.quit()
    rows = export(db)
    for student, part in needing:
        assert rows[student]["adjusted"][part]["by"] == "Ana" and rows[student]["parts"][part] == 1, (student, part)
        assert rows[student]["adjusted"][part]["comment"] == "reviewed <b>by hand</b>"
    assert rows["crasher"]["adjusted"]["forward_backward_prop"]["points"] == 1
    assert rows["md_1a_sum_typo_needs_review"]["parts"]["softmax_shift_proof"] == 1
