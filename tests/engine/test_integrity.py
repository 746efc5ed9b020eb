"""Scores that cannot be bought (issue 14; docs/security.md, "What a score means").

Each sample in sample_submissions/oracles/ tries to earn points without computing
them: a lookup table of the kit's recorded answers, gradient checkers that read the
grader's costs or check only where the grader used to make them wrong, a network
that spots the finite-difference batch in the call stack, a loop that stops the
clock, and text that breaks reports. Each must score at most what honest work of
the same quality scores.
"""
from __future__ import annotations

import csv
import io
import json
import os
import py_compile
import shutil
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import yaml

from conftest import ROOT, SAMPLES, sample_dir

ORACLES = sample_dir("oracles")
MANIFEST = yaml.safe_load((SAMPLES / "manifest.yaml").read_text())


def cli(*args, cwd=ROOT, env=None):
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=env)


def parts(result):
    return {p.id: p for p in result.parts()}


def honest(name, part):
    """The score the manifest gives an honest sample's part."""
    return MANIFEST[name]["scores"].get(part, None)


def test_every_oracle_sample_has_a_test():
    assert sorted(p.name for p in ORACLES.iterdir() if p.is_dir()) == sorted(
        ["clock", "control_characters", "gradcheck_closed_form", "gradcheck_closure", "gradcheck_counter",
         "gradcheck_fixed_indices", "gradcheck_ground_nonce", "lookup_table", "network_stack"])


def test_a_lookup_table_of_the_kits_answers_buys_nothing(tmp_path, kit, shared_grader, rubric):
    folder = tmp_path / "lookup"
    shutil.copytree(ORACLES / "lookup_table", folder)
    shutil.copy(kit / "expected.json", folder / "expected.json")
    # In the kit, whose inputs it recorded, the table is nearly perfect: the attack is real.
    run = cli("check", str(folder), "--rubric", "rubric.yaml", "--format", "json", cwd=kit)
    in_kit = {p["id"]: p["score"] for q in json.loads(run.stdout)["questions"] for p in q["parts"]}
    assert in_kit["softmax"] >= 8 and in_kit["sigmoid"] >= 2, in_kit
    # Graded for real, the inputs are the submission's own: at most the handout's fixed cases.
    graded = parts(shared_grader.grade(folder))
    handout = {pid: sum(c.points for c in part.checks if c.id == "handout_values")
               for _, part in rubric.parts() for pid in [part.id]}
    for pid in ("softmax", "sigmoid", "sigmoid_grad", "forward_backward_prop"):
        assert graded[pid].score <= handout[pid] + 1e-9, (pid, graded[pid].score, handout[pid])


def test_a_checker_that_reads_the_costs_closure_learns_nothing(shared_grader):
    checker = parts(shared_grader.grade(ORACLES / "gradcheck_closure"))["gradcheck_naive"]
    # It can only say "passed": no more than a checker that never fails.
    assert checker.score <= MANIFEST["gradcheck_always_passes"]["scores"]["gradcheck_naive"] + 1e-9


def test_a_checker_that_checks_only_the_old_wrong_indices_is_caught(shared_grader):
    checker = parts(shared_grader.grade(ORACLES / "gradcheck_fixed_indices"))["gradcheck_naive"]
    assert checker.score <= 2.5, [c.message for c in checker.checks if not c.passed]


# ---------------------------------------------------------------- issue 25: a counter, a formula, a nonce
# A checker's verdicts are worth points only if they follow from the values it is given.

INSTALLATIONS = ["installation %d" % i for i in range(6)]   # course secrets, as six installations have them


def _checker_part(rubric):
    return next(p for _, p in rubric.parts() if p.id == "gradcheck_naive")


def _blind_ceiling(rubric):
    """What a checker earns that never compares anything and always reports failure (moving x as it
    should): the wrong gradients' checks and restores_x."""
    return sum(c.points for c in _checker_part(rubric).checks
               if c.options.get("expect") == "fail" or c.kind == "gradcheck_restores_x")


def _own_checker(folder):
    """The sample's gradcheck_naive, imported here (our own sample: trusted), with its module state fresh."""
    import contextlib
    import importlib.util
    spec = importlib.util.spec_from_file_location("oracle_%s" % folder.name, folder / "q2_gradcheck.py")
    module = importlib.util.module_from_spec(spec)
    with contextlib.redirect_stdout(io.StringIO()):
        spec.loader.exec_module(module)
    return module.gradcheck_naive


def _untimed(value):
    """A result without what is measured in seconds (the vectorized check's timing, the total)."""
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if k not in ("timing", "seconds")}
    return [_untimed(v) for v in value] if isinstance(value, list) else value


def _lost_only_in_the_checker(result):
    checker = parts(result)["gradcheck_naive"]
    assert result.score == pytest.approx(result.max_score - (checker.max_score - checker.score)), \
        {p.id: p.score for p in result.parts() if p.score < p.max_score}
    return checker


def test_a_counter_of_calls_cannot_follow_the_order_of_cases_and_controls(shared_grader, rubric, reference,
                                                                          monkeypatch):
    """Item 12: a checker that answers pass, fail, pass, fail, ... by a module-level counter."""
    from grader.reference import RefFunction
    from grader.runner import SECRET_ENV, run_check
    from conftest import LocalStudent
    folder = ORACLES / "gradcheck_counter"
    # The attack is real: the checks one after another in the rubric's order, each case followed by
    # its control (as grading ran them), give it full marks.
    part, student = _checker_part(rubric), LocalStudent(_own_checker(folder), "gradcheck_naive")
    ref = RefFunction(reference.find("gradcheck_naive"), reference)
    assert sum(run_check(rubric, part, spec, student, ref, 224).score for spec in part.checks) == 4.0
    # Graded, the calls of all its checks come in an order drawn per submission and course: the
    # counter answers blind, so it earns what a blind checker earns, and differently per installation.
    scores, failed = [], set()
    for secret in INSTALLATIONS:
        monkeypatch.setenv(SECRET_ENV, secret)
        checker = _lost_only_in_the_checker(shared_grader.grade(folder))
        scores.append(checker.score)
        failed.add(tuple(c.id for c in checker.checks if not c.passed))
    assert max(scores) < 4.0 and sum(scores) / len(scores) <= _blind_ceiling(rubric) + 0.5, scores
    assert len(failed) > 1, failed


def test_a_checker_that_recognises_the_cost_by_a_formula_earns_only_what_failing_earns(shared_grader, rubric):
    """Item 13: a checker that compares the gradient with 2 * f(x) / sum(x**2) * x (or the cubic's form)."""
    from grader.checks.gradcheck import verdict
    from grader.sandbox.wire import FunctionSpec
    from conftest import LocalStudent
    # The attack is real: on the plain costs (what the grader handed out) its verdicts are right.
    checker = LocalStudent(_own_checker(ORACLES / "gradcheck_closed_form"), "gradcheck_naive")
    x = np.linspace(1.0, 2.0, 6)
    for name, params in (("quadratic", {}), ("cubic", {"scale": -1e6}), ("random_cost", {})):
        assert verdict(checker.run(FunctionSpec(name, params), x.copy())) == "pass"
        assert verdict(checker.run(FunctionSpec(name, dict(params, wrong_at=2)), x.copy())) == "fail"
    # The costs graded with have hidden coefficients: no formula of one value gives the gradient.
    graded = _lost_only_in_the_checker(shared_grader.grade(ORACLES / "gradcheck_closed_form"))
    must_pass = [c for c in graded.checks if c.id.startswith("passes_")]
    assert must_pass and not any(c.passed for c in must_pass), [c.message for c in must_pass]
    assert graded.score <= _blind_ceiling(rubric)


def _ground_nonce(rubric, folder, monkeypatch):
    """The attacker's grind (item 14): the first NONCE for which the grader, run without a course
    secret, would make the four right gradients its first four calls (what ANSWERS says)."""
    from grader import coursesecret
    from grader.checks import REGISTRY
    from grader.discover import SubmissionFiles, arrange, read_files
    from grader.runner import call_order, submission_seed
    part = _checker_part(rubric)
    counts = [len(REGISTRY[c.kind].plan(dict(c.options), np.random.default_rng(0))[0]) for c in part.checks]
    cases = {(j, 0) for j, c in enumerate(part.checks)   # each right gradient: the first call of a passing check
             if c.kind == "gradcheck_behaviour" and c.options.get("expect") != "fail"}
    files = arrange(read_files(folder), ["q1_softmax", "q2_gradcheck", "q2_neural", "q2_sigmoid"])
    text = dict(files.files)["q2_gradcheck.py"]
    with monkeypatch.context() as mp:
        mp.setattr(coursesecret, "course_secret", lambda: ("", "no secret"))
        for nonce in range(1, 50_000):
            source = text.replace(b"NONCE = 0", b"NONCE = %d" % nonce)
            candidate = SubmissionFiles([(n, source if n == "q2_gradcheck.py" else d) for n, d in files.files])
            order = call_order(part.id, submission_seed(rubric.seed, candidate.digest()), counts)
            if set(order[:len(cases)]) == cases:
                return nonce, source
    raise AssertionError("no nonce found")


def test_a_nonce_ground_without_the_course_secret_buys_nothing(tmp_path, shared_grader, rubric, monkeypatch):
    """Item 14: without a secret the order of calls (and every input) is a public function of the files."""
    from grader import coursesecret
    from grader.runner import SECRET_ENV
    folder = tmp_path / "ground"
    shutil.copytree(ORACLES / "gradcheck_ground_nonce", folder)
    nonce, source = _ground_nonce(rubric, folder, monkeypatch)
    (folder / "q2_gradcheck.py").write_bytes(source)
    # The grind works where there is no secret: full marks for a table of answers.
    with monkeypatch.context() as mp:
        mp.setattr(coursesecret, "course_secret", lambda: ("", "no secret"))
        assert _lost_only_in_the_checker(shared_grader.grade(folder)).score == 4.0, nonce
    # Every installation has a secret of its own (here two, kept where the grader keeps one): the
    # nonce was ground for an order no installation uses.
    monkeypatch.delenv(SECRET_ENV, raising=False)
    monkeypatch.delenv(coursesecret.SECRET_FILE_ENV, raising=False)
    for name in ("a", "b"):
        config = tmp_path / name
        (config / "a1grader").mkdir(parents=True)
        (config / "a1grader" / "secret").write_text("the secret installation %s made\n" % name)
        monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
        assert _lost_only_in_the_checker(shared_grader.grade(folder)).score <= _blind_ceiling(rubric) + 0.5


def test_every_installation_has_a_secret_of_its_own(tmp_path, shared_grader, monkeypatch):
    """Item 14: made once per installation (0600), different between two, the same on every run after,
    never readable from the sandbox; the same files and secret give the same result."""
    from grader import coursesecret
    from grader.discover import arrange, read_files
    from grader.runner import SECRET_ENV, submission_seed
    monkeypatch.delenv(SECRET_ENV, raising=False)
    monkeypatch.delenv(coursesecret.SECRET_FILE_ENV, raising=False)
    digest = arrange(read_files(ORACLES / "gradcheck_counter"), ["q2_gradcheck"]).digest()
    seeds, env = {}, {k: v for k, v in os.environ.items() if not k.startswith("A1GRADER_SECRET")}
    for name in ("a", "b"):
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / name))
        secret, where = coursesecret.course_secret()
        path = tmp_path / name / "a1grader" / "secret"
        assert where == str(path) and len(secret) == 64 and path.read_text().strip() == secret
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        seeds[name] = submission_seed(224, digest)
        assert submission_seed(224, digest) == seeds[name] and coursesecret.course_secret()[0] == secret
    assert seeds["a"] != seeds["b"]
    monkeypatch.setenv(SECRET_ENV, "a course's own")   # the environment's secret overrides the installation's
    assert submission_seed(224, digest) not in seeds.values()
    # Same files, same installation: the same JSON (but for the time taken), through the command.
    runs = [cli("check", str(ORACLES / "gradcheck_counter"), "--format", "json",
                env=dict(env, XDG_CONFIG_HOME=str(tmp_path / "a"))) for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr
    first, second = (_untimed(json.loads(r.stdout)) for r in runs)
    assert first == second
    # The installation's own secret (where grading here keeps it) cannot be read by student code.
    monkeypatch.delenv(SECRET_ENV)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home-config"))   # a home of the grader's own
    secret, where = coursesecret.course_secret()
    assert secret, where
    folder = tmp_path / "thief"
    shutil.copytree(sample_dir("correct"), folder)
    with open(folder / "q1_softmax.py", "a") as handle:
        handle.write("\ntry:\n    print('secret: ' + open(%r).read())\nexcept OSError as exc:\n"
                     "    print('no secret: %%s' %% type(exc).__name__)\n" % where)
    output = parts(shared_grader.grade(folder))["softmax"].output
    assert "no secret: " in output and secret not in output, output


def test_costs_linear_along_a_wrong_gradient_do_not_pass_for_consistent(shared_grader):
    stack = parts(shared_grader.grade(ORACLES / "network_stack"))["forward_backward_prop"]
    assert stack.score <= honest("network_transposed_weight_grad", "forward_backward_prop") + 1e-9


def test_a_loop_that_stops_the_clock_is_still_a_loop(shared_grader):
    softmax = parts(shared_grader.grade(ORACLES / "clock"))["softmax"]
    vectorized = next(c for c in softmax.checks if c.id == "vectorized")
    assert not vectorized.passed and softmax.score == honest("softmax_loops", "softmax")


def test_bytecode_is_neither_graded_nor_hashed(tmp_path, shared_grader):
    """A correct softmax compiled to an unchecked-hash .pyc beside a wrong source: the source is graded."""
    folder = tmp_path / "pyc"
    shutil.copytree(sample_dir("softmax_no_shift"), folder)
    cache = folder / "__pycache__"
    cache.mkdir()
    tag = sys.implementation.cache_tag
    py_compile.compile(str(sample_dir("correct") / "q1_softmax.py"), cfile=str(cache / ("q1_softmax.%s.pyc" % tag)),
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    softmax = parts(shared_grader.grade(folder))["softmax"]
    assert softmax.score == honest("softmax_no_shift", "softmax")
    from grader.discover import Submission
    with_pyc = Submission("s", folder, folder).content_hash()
    shutil.rmtree(cache)
    assert with_pyc == Submission("s", folder, folder).content_hash()


def test_the_hash_is_unambiguous(tmp_path):
    """Moving bytes between a file's name and its neighbour's content changes the digest."""
    from grader.discover import SubmissionFiles
    a = SubmissionFiles([("a.py", b"x\0b.py\0y")]).digest()
    b = SubmissionFiles([("a.py", b"x"), ("b.py", b"y")]).digest()
    assert a != b


def test_hostile_text_leaves_every_report_valid(tmp_path):
    """What the sample prints and raises goes through the real command into every format."""
    sample = ORACLES / "control_characters"
    out = tmp_path / "r"
    for fmt, parse in (("json", json.loads), ("gradescope", json.loads), ("junit", ET.fromstring),
                       ("markdown", str), ("github", str), ("text", str)):
        target = out / ("report." + fmt)
        run = cli("check", str(sample), "--format", fmt, "--out", str(target))
        assert run.returncode == 0 and "Traceback" not in run.stderr, (fmt, run.stderr[-500:])
        text = target.read_text(encoding="utf-8")
        assert text and "\x00" not in text and "\x1b" not in text, fmt
        parse(text)
    for line in (out / "report.github").read_text().splitlines():
        assert not line.startswith("::error::fake")
    db = tmp_path / "g.db"
    root = tmp_path / "class"
    root.mkdir()
    shutil.copytree(sample, root / "=cmd|' -A0")
    assert cli("batch", str(root), "--db", str(db), "--quiet").returncode == 0
    run = cli("export", "--db", str(db), "--format", "csv")
    rows = list(csv.reader(io.StringIO(run.stdout)))
    assert rows[1][0] != "=cmd|' -A0" and rows[1][0].endswith("=cmd|' -A0")
    assert not any(cell.startswith(("=", "+", "@", "\t", "\r")) for row in rows for cell in row)


def test_a_batch_of_every_sample_prints_no_internal_error(tmp_path):
    """Every bundled sample and oracle, graded as a class: no check blames the grader."""
    root = tmp_path / "class"
    root.mkdir()
    import yaml
    hangs = {k for k, v in yaml.safe_load((SAMPLES / "manifest.yaml").read_text()).items() if "timeout" in v}
    for name in sorted(MANIFEST):
        if name not in hangs:
            shutil.copytree(sample_dir(name), root / name)
    for folder in sorted(ORACLES.iterdir()):
        shutil.copytree(folder, root / ("oracle_" + folder.name))
    db = tmp_path / "g.db"
    run = cli("batch", str(root), "--db", str(db), "--quiet")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "internal error" not in run.stderr, run.stderr[-2000:]
    export = json.loads(cli("export", "--db", str(db), "--format", "json").stdout)
    assert len(export) == len(list(root.iterdir())) and all(row["status"] == "graded" for row in export)
    messages = json.dumps([r for r in export])
    assert "please report it" not in messages
