"""Lateness: a due date and a late policy in the rubric, per-student extensions, Gradescope's submission time."""
from __future__ import annotations

import json
import os
import shutil
import zipfile
from datetime import datetime, timedelta, timezone

from conftest import ROOT, sample_dir
from test_cli import grader
from test_course_tools import run_autograder

DUE = datetime(2026, 11, 1, tzinfo=timezone.utc)
POLICY = "late:\n  due: \"2026-11-01T00:00:00Z\"\n  grace_hours: 1\n  percent_per_day: 10\n  cap_percent: 30\n"


def late_rubric(tmp_path):
    text = (ROOT / "rubrics" / "a1.yaml").read_text()
    path = tmp_path / "late.yaml"
    path.write_text(text.replace("questions:\n", POLICY + "reference: %s\nquestions:\n" % (ROOT / "reference"), 1))
    return path


def handed_in(folder, when):
    stamp = when.timestamp()
    for base, _, names in os.walk(folder):
        for name in names:
            os.utime(os.path.join(base, name), (stamp, stamp))


def exported(db):
    run = grader("export", "--db", str(db), "--format", "json")
    assert run.returncode == 0, run.stderr
    return {r["student"]: r for r in json.loads(run.stdout)}


def test_the_late_policy_takes_its_share_of_the_total_from_times_the_ta_gives(tmp_path):
    rubric = late_rubric(tmp_path)
    root = tmp_path / "class"
    times = {"on_time": DUE - timedelta(hours=1), "in_grace": DUE + timedelta(minutes=30),
             "two_days": DUE + timedelta(hours=30), "very_late": DUE + timedelta(days=10),
             "extended": DUE + timedelta(hours=30)}
    for name in times:
        shutil.copytree(sample_dir("correct"), root / name)
    given = tmp_path / "times.csv"
    given.write_text("student,submitted_at\n" + "".join("%s,%s\n" % (n, t.isoformat()) for n, t in times.items()))
    extensions = tmp_path / "extensions.csv"
    extensions.write_text("student,due\nextended,2026-11-03T00:00:00Z\n")
    db = tmp_path / "g.db"
    run = grader("batch", str(root), "--db", str(db), "--rubric", str(rubric), "--extensions", str(extensions),
                 "--times", str(given), "--quiet")
    assert run.returncode == 0, run.stderr
    rows = exported(db)
    assert (rows["on_time"]["late"], rows["on_time"]["score"]) == (False, 40)
    assert (rows["extended"]["late"], rows["extended"]["score"]) == (False, 40)
    assert (rows["in_grace"]["late"], rows["in_grace"]["late_penalty_percent"], rows["in_grace"]["score"]) == (True, 0, 40)
    assert (rows["two_days"]["late_hours"], rows["two_days"]["late_penalty_percent"]) == (30.0, 20)
    assert rows["two_days"]["score"] == 32 and rows["two_days"]["parts"]["softmax"] == 10    # parts keep their points
    assert (rows["very_late"]["late_penalty_percent"], rows["very_late"]["score"]) == (30, 28)
    csv = grader("export", "--db", str(db), "--format", "csv").stdout
    assert "late,late_hours,late_penalty_percent" in csv.splitlines()[0]
    feedback = tmp_path / "fb"
    assert grader("feedback", "--db", str(db), "--out", str(feedback)).returncode == 0
    assert "takes 20% of the total: 40/40 before it" in (feedback / "two_days.md").read_text()
    bad = tmp_path / "bad.csv"
    bad.write_text("student,due\nextended,next tuesday\n")
    run = grader("batch", str(root), "--db", str(db), "--rubric", str(rubric), "--extensions", str(bad), "--quiet")
    assert run.returncode == 2 and "bad.csv:2" in run.stderr


def test_file_times_are_never_submission_times(tmp_path):
    """Folders copied by a TA (every file 'late') and a zip whose student stamped it 2020: no time, no penalty."""
    rubric = late_rubric(tmp_path)
    root = tmp_path / "class"
    shutil.copytree(sample_dir("correct"), root / "copied_late")
    handed_in(root / "copied_late", DUE + timedelta(days=4))
    with zipfile.ZipFile(root / "stamped_2020.zip", "w") as archive:
        for path in sorted(sample_dir("correct").glob("*.py")):
            archive.writestr(zipfile.ZipInfo(path.name, (2020, 1, 1, 0, 0, 0)), path.read_bytes())
    handed_in(root, DUE + timedelta(days=4))
    db = tmp_path / "g.db"
    run = grader("batch", str(root), "--db", str(db), "--rubric", str(rubric), "--quiet")
    assert run.returncode == 0, run.stderr
    assert "no submission time for 2 of 2 submissions" in run.stderr and "no late penalty" in run.stderr
    rows = exported(db)
    for student in ("copied_late", "stamped_2020"):
        assert (rows[student]["score"], rows[student]["late"], rows[student]["late_penalty_percent"]) == (40, None, 0)
    assert "unknown" in grader("export", "--db", str(db), "--format", "csv").stdout


def test_lateness_is_policy_applied_when_shown_without_regrading(tmp_path):
    """A Canvas LATE student: a day's penalty; an extension given on a later run, or a new due date in the
    rubric, changes the next export, and nothing is regraded; an id of no student stops the batch."""
    rubric = late_rubric(tmp_path)
    root = tmp_path / "download"
    root.mkdir()
    for path in sorted(sample_dir("correct").glob("*.py")):
        shutil.copy(path, root / ("leeann_LATE_100200_500400_" + path.name))
        shutil.copy(path, root / ("okafor_100300_500401_" + path.name))
    db = tmp_path / "g.db"
    run = grader("batch", str(root), "--db", str(db), "--rubric", str(rubric), "--quiet")
    assert run.returncode == 0, run.stderr
    rows = exported(db)
    assert (rows["leeann_100200"]["late"], rows["leeann_100200"]["score"]) == (True, 36)
    assert (rows["okafor_100300"]["late"], rows["okafor_100300"]["score"]) == (None, 40)   # no time: no penalty
    extensions = tmp_path / "ext.csv"
    extensions.write_text("student,due\n100200,2026-11-05T00:00:00Z\n")     # Canvas's user id names her
    run = grader("batch", str(root), "--db", str(db), "--rubric", str(rubric), "--extensions", str(extensions),
                 "--quiet")
    assert run.returncode == 0 and "graded 0, unchanged 2" in run.stderr, run.stderr
    rows = exported(db)
    assert (rows["leeann_100200"]["late"], rows["leeann_100200"]["score"]) == (False, 40)
    feedback = tmp_path / "fb"
    assert grader("feedback", "--db", str(db), "--out", str(feedback)).returncode == 0
    assert "Submitted late" not in (feedback / "leeann_100200.md").read_text()
    # The TA raises the rate in the rubric: the next export applies it, with no batch in between.
    extensions.write_text("student,due\n")
    assert grader("batch", str(root), "--db", str(db), "--rubric", str(rubric), "--extensions", str(extensions),
                  "--quiet").returncode == 0
    rubric.write_text(rubric.read_text().replace("percent_per_day: 10", "percent_per_day: 25"))
    assert exported(db)["leeann_100200"]["score"] == 30
    run = grader("batch", str(root), "--db", str(db), "--rubric", str(rubric), "--quiet")
    assert run.returncode == 0 and "graded 0, unchanged 2" in run.stderr, run.stderr
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("student,due\nleeann_100200,2026-11-05T00:00:00Z\nzed_999,2026-11-05T00:00:00Z\n")
    run = grader("batch", str(root), "--db", str(db), "--rubric", str(rubric), "--extensions", str(unknown), "--quiet")
    assert run.returncode == 2 and "unknown.csv:3: no student of this class is 'zed_999'" in run.stderr, run.stderr
    assert run.stderr.count("grader: error") == 1 and exported(db)["leeann_100200"]["score"] == 30   # nothing recorded


def test_gradescope_lateness_comes_from_its_submission_metadata(tmp_path):
    rubric = late_rubric(tmp_path)
    bundle = tmp_path / "gs"
    assert grader("gradescope", "build", "--rubric", str(rubric), "--out", str(bundle / "a.zip")).returncode == 0
    with zipfile.ZipFile(bundle / "a.zip") as archive:
        archive.extractall(bundle / "autograder" / "source")
    metadata = {"created_at": (DUE + timedelta(hours=30)).isoformat(), "assignment": {"due_date": DUE.isoformat()}}
    (bundle / "autograder" / "submission_metadata.json").write_text(json.dumps(metadata))
    data = run_autograder(bundle / "autograder", sample_dir("correct"))
    assert data["score"] == 32.0, data["output"]
    assert "late" in data["output"].lower()


def test_a_malformed_late_policy_names_its_line(tmp_path):
    rubric = late_rubric(tmp_path)
    rubric.write_text(rubric.read_text().replace('due: "2026-11-01T00:00:00Z"', "due: soon"))
    run = grader("check", str(sample_dir("correct")), "--rubric", str(rubric))
    line = next(i for i, row in enumerate(rubric.read_text().splitlines(), 1) if "due: soon" in row)
    assert run.returncode == 2 and ":%d: late.due" % line in run.stderr, run.stderr


def test_a_gradescope_export_is_a_class(tmp_path):
    """Students by name and id from submission_metadata.yml, times from it, no error row for the file itself."""
    rubric = late_rubric(tmp_path)
    root = tmp_path / "assignment_4410_export"
    for folder in ("submission_5000000", "submission_5000001"):
        shutil.copytree(sample_dir("correct"), root / folder)
    (root / "submission_metadata.yml").write_text(
        "submission_5000000:\n  :submitters:\n  - :name: Ana Lima\n    :sid: '12345'\n    :email: ana@uni.edu\n"
        "  :created_at: 2026-10-31 19:59:00.123456789 -04:00\n  :score: 0.0\n"
        "submission_5000001:\n  :submitters:\n  - :name: Bo Chen\n    :sid: '23456'\n  - :name: Cy Diaz\n"
        "    :sid: '34567'\n  :created_at: 2026-11-02 06:00:00.000000000 +00:00\n")
    db = tmp_path / "g.db"
    run = grader("batch", str(root), "--db", str(db), "--rubric", str(rubric), "--quiet")
    assert run.returncode == 0, run.stderr
    rows = exported(db)
    assert set(rows) == {"Ana Lima_12345", "Bo Chen_23456", "Cy Diaz_34567"}
    assert (rows["Ana Lima_12345"]["late"], rows["Ana Lima_12345"]["score"]) == (False, 40)   # 23:59 UTC: on time
    assert (rows["Bo Chen_23456"]["late_hours"], rows["Bo Chen_23456"]["score"]) == (30.0, 32)
    assert rows["Cy Diaz_34567"]["score"] == 32
    feedback = tmp_path / "fb"
    assert grader("feedback", "--db", str(db), "--out", str(feedback)).returncode == 0
    assert "submitted by Bo Chen (23456), Cy Diaz (34567)" in (feedback / "Cy Diaz_34567.md").read_text()
