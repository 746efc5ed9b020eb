"""The written half: every sample write-up gets its manifest's verdicts; notation and mistakes are decided by computation."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, SAMPLES, sample_dir
from pdfmake import make_pdf

FULL = ROOT / "rubrics" / "a1-full.yaml"
WRITTEN = SAMPLES / "written"
# A write-up as a PDF converter leaves it (invented, in the shape of real ones: equations twice, numbers left behind).
EXAMPLE = ROOT / "sample_submissions" / "written" / "pdfconv_2c_inner_product" / "writeup.md"
MANIFEST = yaml.safe_load((WRITTEN / "manifest.yaml").read_text())["writeups"]
PARTS = ("softmax_shift_proof", "sigmoid_derivative", "ce_gradient_derivation", "input_gradient_derivation",
         "parameter_count")


@pytest.fixture(scope="module")
def full():
    from grader.rubric import load_rubric
    return load_rubric(FULL)


def files_of(folder: Path):
    return [(str(p.relative_to(folder)), p.read_bytes()) for p in sorted(folder.rglob("*")) if p.is_file()]


def verdicts(rubric, files, seed=7):
    from grader.written.grade import grade_writeup
    return {pid: r.verdict for pid, r in grade_writeup(rubric, files, seed).items()}


def test_the_manifest_covers_every_sample_folder_and_part():
    folders = {p.name for p in WRITTEN.iterdir() if p.is_dir()}
    assert folders == set(MANIFEST) and len(folders) >= 20
    for name, entry in MANIFEST.items():
        assert set(entry["expect"]) == set(PARTS), name
    suffixes = {f.suffix for p in WRITTEN.iterdir() if p.is_dir() for f in p.iterdir()}
    assert {".md", ".tex", ".txt", ".ipynb"} <= suffixes


@pytest.mark.parametrize("seed", [7, 2024])
@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_every_sample_gets_its_manifest_verdicts(full, name, seed):
    assert verdicts(full, files_of(WRITTEN / name), seed) == MANIFEST[name]["expect"]


def test_a_converted_pdf_write_up(full):
    """The converter's output: 1a, 2a, 2b, 2d right; 2c writes σ'(z₁) as a 1 x 1 inner product."""
    from grader.written.grade import grade_writeup
    results = grade_writeup(full, [("writeup.md", EXAMPLE.read_bytes())], 3)
    assert {p: r.verdict for p, r in results.items()} == {
        "softmax_shift_proof": "correct", "sigmoid_derivative": "correct", "ce_gradient_derivation": "correct",
        "input_gradient_derivation": "incorrect", "parameter_count": "correct"}
    message = results["input_gradient_derivation"].checks[0].message
    assert "1 x 1 inner product" in message and "elementwise product" in message
    assert results["input_gradient_derivation"].score == 0


def test_a_wrong_part_is_never_correct_and_loses_points(full):
    from grader.written.grade import grade_writeup
    for name, entry in MANIFEST.items():
        results = grade_writeup(full, files_of(WRITTEN / name), 11)
        for part, expected in entry["expect"].items():
            if expected != "correct":
                assert results[part].verdict != "correct", (name, part)
                assert results[part].score < results[part].max_score, (name, part)
            else:
                assert results[part].score == results[part].max_score, (name, part)


def test_named_mistakes_say_what_is_wrong(full):
    from grader.written.grade import grade_writeup

    def message(name, part):
        return " ".join(c.message for c in grade_writeup(full, files_of(WRITTEN / name), 5)[part].checks)

    assert "diagonal of the softmax Jacobian" in message("md_no_headings_2b_diag_jacobian", "ce_gradient_derivation")
    assert "sign is flipped" in message("txt_two_file_2b_sign_flipped", "ce_gradient_derivation")
    assert "shapes do not chain" in message("tex_2c_w2_not_transposed", "input_gradient_derivation")
    assert "W₁ᵀ" in message("md_2c_stops_at_dz1", "input_gradient_derivation")
    assert "biases" in message("txt_2d_no_biases", "parameter_count")
    assert "sign slip" in message("md_2a_sign_slip", "sigmoid_derivative")
    assert "outside sigma" in message("tex_2a_not_in_sigma", "sigmoid_derivative")
    assert "subscript" in message("tex_1a_vector_c", "softmax_shift_proof")
    assert "e^(x_i) e^c" in message("md_1a_exp_split_as_sum", "softmax_shift_proof")
    assert "typo" in message("md_1a_sum_typo_needs_review", "softmax_shift_proof")


def test_the_expected_result_stays_in_the_graders_json_only(full):
    from grader.report import markdown
    from grader.scoring import score_submission
    from grader.written.grade import grade_writeup
    results = grade_writeup(full, files_of(WRITTEN / "txt_2d_no_biases"), 5)
    part = results["parameter_count"]
    assert part.written["expected"] and part.checks[0].details["expected"]
    page = markdown.render(score_submission(_written_only(full), "s", results, "0", {}))
    assert part.written["expected"] not in page and "(H + 1)" not in page
    assert "your answer, as read" in page


def _written_only(rubric):
    """The rubric's written parts alone, so a result tree can be scored from them."""
    from dataclasses import replace
    questions = tuple(replace(q, parts=tuple(p for p in q.parts if p.written is not None)) for q in rubric.questions)
    return replace(rubric, questions=questions)


@pytest.mark.parametrize("text, expected", [
    (r"\sigma(x)(1-\sigma(x))", True), (r"\sigma(x) - \sigma(x)^2", True), (r"\sigma(x)\left(1 - \sigma(x)\right)", True),
    (r"s(x)(1 - s(x))", True), (r"sigmoid(x) * (1 - sigmoid(x))", True), (r"\sigma(x)(\sigma(x) - 1)", False),
    (r"\frac{e^{-x}}{(1+e^{-x})^2}", True), (r"\sigma(x)^2", False), (r"1 - \sigma(x)", False),
])
def test_2a_results_are_compared_by_value(full, text, expected):
    from grader.written.answer import Answer
    from grader.written.mathtext import statements
    from grader.checks.written import written_result
    _, part = full.part("sigmoid_derivative")
    answer = Answer(part.id, "$$\\sigma'(x) = %s$$" % text, statements("$$\\sigma'(x) = %s$$" % text, False,
                    part.written.notation), part.written.conventions, part.written.notation, 1)
    verdict = written_result(answer, None, dict(part.checks[0].options), None)
    assert verdict.passed is expected, verdict.message


@pytest.mark.parametrize("text, expected", [
    (r"((\hat{y} - y) W_2^T \circ h \circ (1 - h)) W_1^T", True),
    (r"(\hat{y} - y) W_2^{\top} \odot \sigma'(z_1) W_1^{\top}", True),    # read left to right, as written
    (r"[(\hat{y} - y) W_2^{\top} \odot \sigma'(z_1)] W_1^{\top}", True),
    (r"\left((\hat{\boldsymbol{y}} - \boldsymbol{y}) \mathbf{W}_2^T * h * (1 - h)\right) \mathbf{W}_1^T", True),
    (r"((y' - y) W_2^{\intercal} \circ h(1-h)) W_1^T", True),              # h(1 − h): two rows side by side
    (r"((\hat{y} - y) W_2^T \circ h \circ (1 - h)) W_1", False),
    (r"(\hat{y} - y) W_2^T \circ h \circ (1 - h)", False),
    (r"((\hat{y} - y) W_2^T h^T (1 - h)) W_1^T", False),
    (r"W_1^T (\hat{y} - y) W_2^T \circ h \circ (1 - h)", False),
])
def test_2c_products_follow_the_shapes(full, text, expected):
    from grader.written.answer import Answer
    from grader.written.mathtext import statements
    from grader.checks.written import written_result
    _, part = full.part("input_gradient_derivation")
    source = "$$\\frac{\\partial J}{\\partial x} = %s$$" % text
    answer = Answer(part.id, source, statements(source, False, part.written.notation),
                    part.written.conventions, part.written.notation, 1)
    verdict = written_result(answer, None, dict(part.checks[0].options), None)
    assert verdict.passed is expected, verdict.message


def test_a_pdf_write_up_is_read_from_its_text_layer(tmp_path):
    """A PDF made from a plain-text sample gets the same verdicts, through the real command."""
    from test_cli import grader
    source = WRITTEN / "txt_problem_headings_correct"
    text = "\n".join(p.read_text() for p in sorted(source.glob("*.txt")))
    folder = tmp_path / "pdf_student"
    folder.mkdir()
    (folder / "answers.pdf").write_bytes(make_pdf(text))
    run = grader("check", str(folder), "--rubric", str(FULL), "--format", "json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    got = {p["id"]: p["verdict"] for q in result["questions"] for p in q["parts"] if "verdict" in p and p["verdict"]}
    assert got == MANIFEST["txt_problem_headings_correct"]["expect"]


def test_code_and_write_up_together_through_check(tmp_path):
    from test_cli import grader
    folder = tmp_path / "student"
    shutil.copytree(sample_dir("correct"), folder)
    shutil.copy(EXAMPLE, folder / "written.md")
    run = grader("check", str(folder), "--rubric", str(FULL), "--format", "json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    parts = {p["id"]: p for q in result["questions"] for p in q["parts"]}
    assert result["score"] == 34.0 and result["max_score"] == 40.0
    assert parts["input_gradient_derivation"]["verdict"] == "incorrect"
    assert parts["softmax"]["verdict"] is None and parts["softmax"]["score"] == 5.0
    text = grader("check", str(folder), "--rubric", str(FULL))
    assert "(incorrect)" in text.stdout and "your answer, as read" in text.stdout


def test_hostile_write_ups_cost_only_their_own_parts(tmp_path):
    """Bad files in a batch: each gets a clear verdict, nothing hangs, the honest student keeps full marks."""
    from test_cli import grader
    root = tmp_path / "class"
    root.mkdir()
    cases = {
        "broken_pdf": {"answers.pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage"},
        "binary_md": {"answers.md": bytes(range(256)) * 64},
        "huge_txt": {"answers.txt": b"2a: sigma'(x) = " + b"(" * 30_000_000},
        "nested_latex": {"answers.md": b"## 2a\n$$\\sigma'(x) = " + b"{" * 5000 + b"x" + b"}" * 5000 + b"$$\n"},
        "unclosed_brace": {"answers.md": b"## 2a\n$$\\sigma'(x) = \\frac{1}{1 + e^{-x$$\n## 2d\n$$(D_x+1)H + (H+1)D_y$$\n"},
        "many_dollars": {"answers.md": b"## 2a\n" + b"$a$ $$ b " * 200_000},
    }
    for name, files in cases.items():
        (root / name).mkdir()
        for file, data in files.items():
            (root / name / file).write_bytes(data)
    shutil.copytree(WRITTEN / "md_hat_circ_correct", root / "honest")
    db = tmp_path / "g.db"
    run = grader("batch", str(root), "--db", str(db), "--rubric", str(FULL), "--jobs", "2")
    assert run.returncode == 0, run.stderr
    export = json.loads(grader("export", "--db", str(db), "--format", "json").stdout)
    by = {row["student"]: row for row in export}
    assert by["honest"]["verdicts"] == MANIFEST["md_hat_circ_correct"]["expect"]
    assert by["honest"]["score"] == 19.0
    for name in cases:
        assert by[name]["status"] == "graded", name
        if name != "unclosed_brace":
            assert "correct" not in by[name]["verdicts"].values(), name
    assert by["unclosed_brace"]["verdicts"]["parameter_count"] == "correct"     # the rest of a file is still read
    assert set(by["broken_pdf"]["verdicts"].values()) == {"needs_review"}
    assert set(by["binary_md"]["verdicts"].values()) == {"needs_review"}
    assert by["unclosed_brace"]["verdicts"]["sigmoid_derivative"] == "needs_review"
    assert by["nested_latex"]["verdicts"]["sigmoid_derivative"] == "needs_review"


def test_the_service_budget_and_a_dead_child(full):
    """A write-up that takes too long, or a child that dies, is needs_review; the next one is graded."""
    from grader.written.service import WrittenService
    files = files_of(WRITTEN / "md_hat_circ_correct")
    service = WrittenService(full, 1024, 0.001)
    try:
        late = service.grade(files, 1)
        assert {r.verdict for r in late.values()} == {"needs_review"}
        assert "took more than" in late["parameter_count"].written["reason"]
        service.budget = 30.0
        assert {r.verdict for r in service.grade(files, 1).values()} == {"correct"}
        service.proc.kill()
        service.proc.wait()
        assert {r.verdict for r in service.grade(files, 1).values()} == {"correct"}
    finally:
        service.close()


def test_a_rubric_with_bad_math_names_the_line(tmp_path):
    from grader.errors import RubricError
    from grader.rubric import load_rubric
    text = FULL.read_text().replace("expected: '(D_x + 1) H + (H + 1) D_y'", "expected: '(D_x + 1 H + (H + 1) D_y'")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("reference: ../reference", ""))
    with pytest.raises(RubricError) as err:
        load_rubric(bad)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "(D_x + 1 H" in row)
    assert ":%d:" % line in str(err.value) and "expected" in str(err.value)


def test_a_slip_at_the_end_of_a_right_derivation_earns_the_rubrics_partial_credit(full):
    from grader.written.grade import grade_writeup
    slip = (b"## 2b\n$$\\frac{\\partial CE}{\\partial \\theta} = \\hat{y} - y = y - \\hat{y}$$\n"
            b"## 2c\n$$\\frac{\\partial J}{\\partial x} = ((\\hat{y} - y) W_2^T \\circ h \\circ (1 - h)) W_1^T"
            b" = ((\\hat{y} - y) W_2 \\circ h \\circ (1 - h)) W_1^T$$\n")
    results = grade_writeup(full, [("a.md", slip)], 1)
    for part, points in (("ce_gradient_derivation", 1.5), ("input_gradient_derivation", 3.0)):
        assert results[part].verdict == "incorrect"
        assert results[part].score == points, results[part].checks[0].message
        assert "reached the right result" in results[part].checks[0].message


LABELS = {"softmax_shift_proof": "1a", "sigmoid_derivative": "2a", "ce_gradient_derivation": "2b",
          "input_gradient_derivation": "2c", "parameter_count": "2d"}


@pytest.mark.parametrize("part, math", [
    ("sigmoid_derivative", r"\frac{d\sigma}{dx} = \sigma(1-\sigma)"),
    ("sigmoid_derivative", r"\sigma' = \sigma - \sigma^2"),
    ("sigmoid_derivative", r"\sigma^{\prime}(x) = \sigma(x) \left[ 1 - \sigma(x) \right]"),
    ("sigmoid_derivative", r"S'(x) = S(x)(1 - S(x))"),
    ("ce_gradient_derivation", r"\nabla_\theta CE = \hat{\mathbf{y}} - \mathbf{y}"),
    ("ce_gradient_derivation", r"\frac{\partial CE(y, \hat{y})}{\partial \theta} = y' - y"),
    ("ce_gradient_derivation", r"\frac{\partial CE}{\partial \theta} = (\hat{y} - y)^T"),
    ("ce_gradient_derivation", r"\frac{\partial CE}{\partial \theta_i} = \hat{y}_i - y_i"),
    ("input_gradient_derivation", r"\delta_1 = \hat{y} - y \quad \frac{\partial J}{\partial x} = \delta_1 W_2^T \text{diag}(h \circ (1-h)) W_1^T"),
    ("input_gradient_derivation", r"\frac{\partial J}{\partial x} = W_1 (\sigma'(z_1)^T \circ W_2 (\hat{y} - y)^T)"),
    ("parameter_count", r"D_xH + H + HD_y + D_y"),
    ("parameter_count", r"N = H(d_x + d_y + 1) + d_y"),
    ("parameter_count", r"\text{total} = (D_x + 1) \cdot H + (H + 1) \cdot D_y"),
    ("softmax_shift_proof", r"softmax(\mathbf{x} + c) = \frac{e^{\mathbf{x} + c}}{\sum_{k=1}^{n} e^{x_k + c}} = "
                            r"\frac{e^{c} e^{\mathbf{x}}}{e^{c} \sum_{k=1}^{n} e^{x_k}} = softmax(\mathbf{x})"),
])
def test_right_answers_in_other_notations_are_correct(full, part, math):
    from grader.written.grade import grade_writeup
    result = grade_writeup(full, [("a.md", ("## %s\n$$%s$$\n" % (LABELS[part], math)).encode())], 3)[part]
    assert result.verdict == "correct", [c.message for c in result.checks]


def test_a_wrong_derivation_names_its_first_broken_step(full):
    from grader.written.grade import grade_writeup
    doc = (b"## 2a\n$$\\sigma'(x) = \\frac{e^{-x}}{(1+e^{-x})^2} = \\frac{e^{-x}}{1+e^{-x}} = 1 - \\sigma(x)$$\n")
    result = grade_writeup(full, [("a.md", doc)], 3)["sigmoid_derivative"]
    assert result.verdict == "incorrect"
    assert "the first step that does not hold is e^(−x) / (1 + e^(−x))^2 = e^(−x) / (1 + e^(−x))" \
        in result.checks[0].message


def test_a_class_of_write_ups_with_code_through_batch(tmp_path):
    """Every sample write-up beside the correct code, graded as a class with a1-full: its verdicts, its points."""
    from test_cli import grader
    root = tmp_path / "class"
    for name in MANIFEST:
        shutil.copytree(sample_dir("correct"), root / name)
        shutil.copytree(WRITTEN / name, root / name, dirs_exist_ok=True)
    db = tmp_path / "g.db"
    run = grader("batch", str(root), "--db", str(db), "--rubric", "a1-full", "--jobs", "2", "--quiet")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "internal error" not in run.stderr, run.stderr[-2000:]
    rows = {r["student"]: r for r in json.loads(grader("export", "--db", str(db), "--format", "json").stdout)}
    assert set(rows) == set(MANIFEST)
    for name, entry in MANIFEST.items():
        assert rows[name]["verdicts"] == entry["expect"], name
        correct = [p for p, v in entry["expect"].items() if v == "correct"]
        assert rows[name]["parts"]["softmax"] == 5.0 and rows[name]["parts"]["forward_backward_prop"] == 8.0
        assert all(rows[name]["parts"][p] > 0 for p in correct), name


def test_a_check_not_judged_gives_no_hint(full):
    """A sign slip in 2a is told about the sign, not that its result 'still has x in it'."""
    from grader.written.grade import grade_writeup
    result = grade_writeup(full, files_of(WRITTEN / "md_2a_sign_slip"), 7)["sigmoid_derivative"]
    assert result.verdict == "incorrect"
    assert not any("still has x" in hint for hint in result.hints), result.hints
    assert any("not judged" in c.message for c in result.checks)


def test_nothing_pays_for_a_part_without_a_result(full):
    """The pasted question scores nothing anywhere; a picture is for a TA and shows what surrounds it."""
    from grader.written.grade import grade_writeup
    handout = grade_writeup(full, files_of(WRITTEN / "md_handout_only"), 7)
    assert all(r.score == 0 and all(c.score == 0 for c in r.checks) for r in handout.values())
    picture = grade_writeup(full, files_of(WRITTEN / "md_2c_answer_is_image"), 7)["input_gradient_derivation"]
    assert picture.score == 0 and "image" in picture.written["reason"] and "2c_photo.png" in picture.written["text"]


def test_a_broken_docx_or_html_is_for_a_ta_with_its_reason(full):
    """A .docx that is no Word file says so (pandoc's one line); hidden HTML text is not read as an answer."""
    from grader.written.grade import grade_writeup
    results = grade_writeup(full, [("answers.docx", b"PK\x03\x04 not really a zip" * 50)], 7)
    assert {r.verdict for r in results.values()} == {"needs_review"}
    reason = results["sigmoid_derivative"].written["reason"]
    assert reason.startswith("answers.docx could not be read") and "\n" not in reason
    hidden = ('<h2>2(d)</h2><p style="color: #ffffff">$(D_x + 1) H + (H + 1) D_y$</p>'
              '<div hidden><p>$(D_x + 1) H + (H + 1) D_y$</p></div>')
    results = grade_writeup(full, [("answers.html", hidden.encode())], 7)
    assert results["parameter_count"].verdict == "missing"
