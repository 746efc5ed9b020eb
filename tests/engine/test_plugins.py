"""The extension points (grader/plugins.py): a rubric's plug-in is imported, registers under names
its rubric uses, and a mistake in it is the rubric's error with file and line."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grader import plugins
from grader.checks import REGISTRY
from grader.errors import RubricError
from grader.rubric import load_rubric
from grader.sandbox import proxies

from conftest import LocalStudent

RUBRIC = """\
name: tiny
assignment: tiny
seed: 1
reference: ref
plugin: {plugin}
questions:
  - id: q1
    points: 2
    parts:
      - id: double
        find: [tiny.double]
        diagnose: {finder}
        mistakes: {{tiny_halves: "double halves instead"}}
        checks:
          - id: values
            kind: {kind}
            points: 2
            random: [{{gen: {gen}, n: 3}}]
"""

PLUGIN = """\
import numpy as np
from grader.checks.base import CheckResult, register
from grader.plugins import input_generator, mistake_finders

@input_generator("{gen}")
def ramp(rng, spec):
    return [np.arange(float(spec["n"])) + rng.normal()]

@register("{kind}", defaults={{"random": []}})
def doubled(student, reference, opts, rng):
    x = ramp(rng, opts["random"][0])[0]
    ok = np.allclose(student(x), 2 * x)
    return CheckResult(1.0 if ok else 0.0, "doubles x" if ok else "does not double x")

mistake_finders(__name__, {{"{finder}": "finder"}})

def finder(result, student, reference):
    return ["tiny_halves"] if np.allclose(student(np.ones(2)), 0.5) else []
"""


def make(tmp_path, name, plugin_text=None, **names):
    folder = tmp_path / name
    (folder / "ref").mkdir(parents=True)
    (folder / "ref" / "tiny.py").write_text("def double(x):\n    return 2 * x\n")
    names = dict(dict(kind="tiny_double_" + name, gen="tiny_ramp_" + name, finder="tiny_" + name), **names)
    (folder / "checks.py").write_text(plugin_text if plugin_text is not None else PLUGIN.format(**names))
    (folder / "rubric.yaml").write_text(RUBRIC.format(plugin="checks.py", **names))
    return folder / "rubric.yaml", names


def test_a_plugin_file_beside_the_rubric_registers_what_the_rubric_names(tmp_path):
    path, names = make(tmp_path, "a")
    rubric = load_rubric(path)
    assert rubric.plugin == "checks.py" and rubric.assignment == "tiny"
    _, part = rubric.part("double")
    assert part.diagnose == names["finder"] and part.mistakes == {"tiny_halves": "double halves instead"}
    kind = REGISTRY[names["kind"]]
    rng = np.random.default_rng(0)
    assert kind.fn(LocalStudent(lambda x: 2 * x), None, part.checks[0].options, rng).passed
    assert not kind.fn(LocalStudent(lambda x: x / 2), None, part.checks[0].options, rng).passed
    finder = plugins.FINDERS[names["finder"]].load()
    assert finder(None, LocalStudent(lambda x: x / 2), None) == ["tiny_halves"]
    assert load_rubric(path).plugin == "checks.py"   # loaded twice: imported once, no double registration


def test_a_plugin_that_fails_to_import_is_the_rubrics_error_at_its_line(tmp_path):
    path, _ = make(tmp_path, "b", plugin_text="raise RuntimeError('boom')\n")
    with pytest.raises(RubricError) as info:
        load_rubric(path)
    assert ":5: plugin: the plug-in checks.py cannot be imported: RuntimeError: boom" in str(info.value)
    path.write_text(path.read_text().replace("plugin: checks.py", "plugin: absent.py"))
    with pytest.raises(RubricError, match="plug-in file not found"):
        load_rubric(path)


def test_an_unknown_finder_or_hints_without_one_are_rubric_errors(tmp_path):
    path, names = make(tmp_path, "c")
    text = path.read_text()
    path.write_text(text.replace("diagnose: " + names["finder"], "diagnose: nobody_registered_this"))
    with pytest.raises(RubricError, match=r":12: questions\[0\]\.parts\[0\]\.diagnose: unknown mistake finder"):
        load_rubric(path)
    path.write_text(text.replace("        diagnose: %s\n" % names["finder"], ""))
    with pytest.raises(RubricError, match="mistakes need a finder"):
        load_rubric(path)


def test_one_name_for_two_different_things_is_refused():
    plugins.input_generator("tiny_once")(lambda rng, spec: [1])
    with pytest.raises(ValueError, match="registered twice"):
        plugins.input_generator("tiny_once")(lambda rng, spec: [2])


def test_a_cost_family_a_plugin_registers_is_handed_to_a_checker(reference):
    def family(params):
        a = float(params.get("a", 1.0))
        return lambda x, r=None: (np.float64(a * np.sum(np.cosh(x))), proxies.perturb(a * np.sinh(x), params))

    plugins.cost_family("tiny_cosh", draw=lambda rng, x, scale: {"a": float(rng.uniform(1.0, 2.0))})(family)
    assert proxies.draw("tiny_cosh", np.random.default_rng(0), np.zeros(3))["a"] >= 1.0
    checker = LocalStudent(reference.find("gradcheck_naive"), "gradcheck_naive")
    kind = REGISTRY["gradcheck_behaviour"]
    opts = dict(kind.options(), fn="tiny_cosh")
    assert kind.fn(checker, None, opts, np.random.default_rng(0)).passed
    assert kind.fn(checker, None, dict(opts, wrong_at=1, expect="fail"), np.random.default_rng(0)).passed
    silent = LocalStudent(lambda f, x: None, "gradcheck_naive")
    assert not kind.fn(silent, None, dict(opts, wrong_at=1, expect="fail"), np.random.default_rng(0)).passed


def test_the_timing_baseline_is_a_numpy_function_a_check_names(monkeypatch):
    """The sandbox knows no yardstick of its own: a timing check names the numpy ufunc it times against."""
    from grader.reference import RefFunction
    monkeypatch.syspath_prepend(str(Path(proxies.__file__).parent))   # the child's plain modules, by name
    import in_worker
    reply, functions = in_worker.load({"baseline": "tanh"}, None)
    assert reply["found"] == {"np.tanh": "ok"} and functions["np.tanh"] is np.tanh
    for name in ("load", "random", "__import__"):
        reply, functions = in_worker.load({"baseline": name}, None)
        assert reply["failure"] == "crashed" and functions == {}, name
    kind = REGISTRY["vectorized"]
    fast = LocalStudent(lambda x: np.tanh(x), "fast")
    result = kind.fn(fast, RefFunction(np.tanh, None), dict(kind.options(), baseline="tanh", shape=[400, 2]), np.random.default_rng(0))
    assert "np.tanh" in result.message and result.details["timing"]["baseline"] == "np.tanh"
    assert kind.yardstick(dict(kind.options(), baseline="tanh")) == ("tanh", [(5000, 2)] * 5)


def test_every_callable_a_check_gets_keeps_one_protocol():
    """The sandbox's handle, an adapter and the in-process stand-in are one StudentCallable."""
    import grader.assignments.a1  # noqa: F401  (registers its adapter)
    from grader.sandbox.student import StudentCallable, StudentFunction
    local = LocalStudent(lambda x: x, "f")
    assert isinstance(local, StudentCallable)
    assert isinstance(StudentFunction(None, "m.f", "f in m.py"), StudentCallable)
    for name, adapter_class in plugins.ADAPTERS.items():
        assert isinstance(adapter_class(local), StudentCallable), name
        assert adapter_class.stands_for and hasattr(adapter_class, "not_standalone"), name
    assert not isinstance(lambda x: x, StudentCallable)
