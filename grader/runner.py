"""Grade one submission: load each part in the sandbox, run its checks, score it.

This is the only module that ties the stages together; each stage stays
ignorant of the others (sandbox knows no rubric, checks know no sandbox
internals, scoring knows no processes).
"""
from __future__ import annotations

import hashlib
import re
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from . import NAME, __version__, legacy
from .checks import REGISTRY
from .checks.base import CheckResult
from .checks.numeric import seeded_rng
from .diagnose import named_mistakes
from .coursesecret import SECRET_ENV  # noqa: F401  (the course secret's override: tests set it)
from .discover import SubmissionFiles, arrange, read_files
from .errors import GraderFault, SubmissionError
from .plugins import ADAPTERS, is_path, plugin_path
from .reference import RecordedReference, Reference, RefFunction
from .sandbox.isolation import grader_copies
from .sandbox.limits import DEFAULT_LIMITS, Limits
from .sandbox.workers import Sandbox, Worker, Zygote, ZygoteFailure
from .sandbox.student import StudentError, StudentFunction
from .scoring import (CheckOutcome, PartResult, SubmissionResult, points, score_check, score_part,
                      score_submission, unscored_checks)

_REFERENCES: Dict[Path, Reference] = {}


def load_reference(folder: Path):
    """The reference of a folder, or the recorded values of a student kit (a .json file)."""
    folder = Path(folder).resolve()
    if folder not in _REFERENCES:
        _REFERENCES[folder] = RecordedReference(folder) if folder.suffix == ".json" else Reference(folder)
    return _REFERENCES[folder]


class Grader:
    """Grades many submissions against one rubric; use as a context manager.

    Holds what can be shared between submissions: the reference (in this
    process) and one sandbox zygote (a child with numpy loaded, forking fresh
    workers). Each submission still gets its own scratch folder and its own
    worker processes, and nothing of one student's reaches another's.
    """

    def __init__(self, rubric, timeout: Optional[float] = None, limits: Optional[Limits] = None,
                 mode: Optional[str] = None, unsafe: bool = False, fingerprints: bool = False,
                 hide: Sequence[Path] = ()):
        self.rubric = rubric
        self.fingerprints = fingerprints    # batch keeps each submission's fingerprints (similarity.py)
        self.reference = load_reference(rubric.reference)
        base = limits or getattr(rubric, "limits", None) or DEFAULT_LIMITS
        # Loading runs the student's top-level code (often their own sanity checks): allow it more.
        self.limits = base.override(timeout=timeout, load_timeout=max(2 * timeout, 2.0) if timeout else None)
        self.zygote = Zygote.adopt(mode, self.limits, unsafe=unsafe,
                                   hide=answer_folders(rubric) + hideable(hide))
        self.yardstick = yardstick(rubric)   # measured before the first part loads (Sandbox.premeasure)
        # The modules the rubric looks in: where an upload's code is (discover.arrange).
        self.modules = sorted({c.module for _, part in rubric.parts() for c in part.find if not c.adapter})
        self.written = None
        if hasattr(rubric, "written_parts") and rubric.written_parts():
            from .written.service import WrittenService
            budget = self.limits.part_budget * len(rubric.written_parts()) + 5.0
            self.written = WrittenService(rubric, self.limits.memory_mb, budget, prove=fingerprints)

    @property
    def mode(self) -> str:
        return self.zygote.mode

    def grade(self, submission: Path, label: Optional[str] = None) -> SubmissionResult:
        """Grade the student folder ``submission``; never raises for the student's faults.

        ``label`` is what the result calls the submission (default: the path as given).
        Raises SubmissionError when the folder cannot be read, and GraderFault
        when the sandbox failed twice (the grader's fault: nothing to record).
        """
        start = time.perf_counter()
        try:
            files = arrange(read_files(Path(submission)), self.modules)
        except OSError as exc:
            raise SubmissionError("submission folder cannot be read: %s (%s)" % (
                submission, exc.strerror or exc)) from None
        seed = submission_seed(self.rubric.seed, files.digest(), getattr(self.reference, "recorded_only", False))
        for attempt in (1, 2):
            try:
                results = self._grade_files(files, seed)
                break
            except ZygoteFailure as exc:
                # Whatever went wrong may have left the zygote in any state: never reuse it.
                self.zygote.stop()
                if attempt == 2:
                    raise GraderFault("the sandbox failed while grading %s: %s" % (submission, exc)) from None
        if self.written is not None:
            results.update(self.written.grade(files.files, seed, files.skipped))
        for _, spec in self.rubric.parts():
            part = results.get(spec.id)
            if part is not None and part.verdict is None:
                part.fingerprint, part.source = code_answer(part, files.files, spec.find)
        words = {pid: part.written.pop("words") for pid, part in results.items()
                 if part.written and "words" in part.written}
        prints = None
        if self.fingerprints:
            from .similarity import code_prints
            prints = dict(code_prints(files.files), written=words)
        timing = {"seconds": round(time.perf_counter() - start, 3)}
        name = label if label is not None else str(submission)
        limit_hints(results.values(), getattr(self.rubric, "policy", {}).get("hints", "formula"))
        result = score_submission(self.rubric, name, results, __version__, timing)
        result.sandbox = self.zygote.label
        result.notes = list(files.skipped)
        result.prints = prints      # not part of the result tree: batch keeps it in the gradebook (similarity.py)
        return result

    def _grade_files(self, files: SubmissionFiles, seed: int) -> Dict[str, PartResult]:
        with Sandbox(files.files, self.limits, zygote=self.zygote) as sandbox:
            prepared = sandbox.prepare(legacy.rejects(self.rubric.policy))
            try:
                reports = legacy.from_wire(prepared.reports or {})
            except (ValueError, TypeError):
                reports, prepared.problem = {}, "preparing your files failed: malformed report"
            if self.yardstick:
                sandbox.premeasure(self.yardstick[1], self.yardstick[0])
            results = grade_parts(sandbox, self.rubric, self.reference, reports, seed)
            if prepared.problem:
                for result in results.values():
                    result.notes.append(prepared.problem)
            if prepared.porting:
                # Only a part that failed can owe it to an unported Python 2 file.
                for result in results.values():
                    if result.status not in ("graded", "missing"):
                        result.notes.append("Python 2 files cannot be ported on this machine: %s"
                                            % prepared.porting)
        return results

    def close(self) -> None:
        self.zygote.close()
        if self.written is not None:
            self.written.close()

    def __enter__(self) -> "Grader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def yardstick(rubric) -> Optional[Tuple[str, List[Tuple[int, ...]]]]:
    """The baseline the rubric's first timing check times against, and its input shapes (CheckKind.yardstick)."""
    for _, part in rubric.parts():
        for spec in part.checks:
            kind = REGISTRY.get(spec.kind)
            if kind is not None and kind.yardstick is not None:
                return kind.yardstick(spec.options)   # one yardstick: the first timing check's
    return None


def limit_hints(parts, level: str) -> None:
    """Feedback that says no more than the course wants (rubric ``policy: hints``).

    ``mistake``: a named mistake keeps its name and where it is (the text before its first
    colon or full stop), the rubric's hints (which may hold formulas) go; ``none``: no hints.
    """
    if level == "formula":
        return
    for part in parts:
        for check in part.checks:
            check.hint = None
        if level == "none":
            part.hints, part.mistakes = [], [dict(m, hint="") for m in part.mistakes]
            continue
        for mistake in part.mistakes:
            mistake["hint"] = re.split(r"[:.]\s", mistake["hint"], 1)[0].rstrip(".") + "."
        part.hints = [m["hint"] for m in part.mistakes]


def code_answer(part: PartResult, files, candidates=()) -> Tuple[str, str]:
    """The fingerprint of the file a code part was graded from, and (if it lost points) its function's source.

    The file is the one the part's function was found in, else (it did not load) the first of
    the rubric's candidates that exists. The source is cut from the file by its lines
    (similarity.top_level_functions), never parsed: the file is the student's.
    """
    files = dict(files)
    if part.function and " in " in part.function:
        name, _, module = part.function.partition(" in ")
    else:
        found = next((c for c in candidates if not c.adapter and c.module + ".py" in files), None)
        if found is None:
            return "", ""
        name, module = found.name, found.module + ".py"
    data = files.get(module)
    if data is None:
        return "", ""
    fingerprint = hashlib.sha256(name.encode() + b"\0" + data).hexdigest()[:20]
    if part.score >= part.max_score:
        return fingerprint, ""
    from .similarity import top_level_functions
    _, text = top_level_functions(data.decode("utf-8", "replace")).get(name, (0, ""))
    return fingerprint, "\n".join(text.splitlines()[:200]).rstrip()[:8000]


def hideable(folders: Sequence[Path]) -> List[Path]:
    """Of ``folders`` (a class's submissions), those a worker may be denied: none that holds the
    interpreter or its packages, which workers import from."""
    keep = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, *sys.path) if p}
    out = []
    for folder in folders:
        folder = Path(folder).resolve()
        if folder.is_dir() and folder != Path("/") and not any(folder == k or folder in k.parents for k in keep):
            out.append(folder)
    return sorted(set(out))


def answer_folders(rubric) -> List[Path]:
    """Folders that hold answers (reference code, recorded values, the grader's maths).

    The rubric's reference, its folder and its plug-in, the grader package that is running,
    and every installed copy of it (pip puts one, reference included, in site-packages).
    Workers must never read them; bwrap leaves them out of its view, uid mode
    covers them with empty mounts.
    """
    import site
    import sysconfig
    found = [Path(rubric.reference).resolve(), Path(__file__).resolve().parent]
    # The rubric's folder (its written parts' expected results) and a plug-in kept outside the
    # grader, unless one holds the interpreter the workers import from.
    course = [Path(rubric.path).resolve().parent]
    if getattr(rubric, "plugin", None) and is_path(rubric.plugin):
        plugin = plugin_path(rubric.plugin, Path(rubric.path).parent)
        course.append(plugin if plugin.is_dir() else plugin.parent)
    found += hideable(course)
    # A source checkout where `pip install .` ran keeps a copy, reference included, in build/.
    found.append(Path(__file__).resolve().parents[1] / "build")
    roots = set(sys.path) | {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
    try:
        roots |= set(site.getsitepackages())
    except AttributeError:   # some virtualenvs' site module lacks it
        pass
    found += [Path(r) / name for r in roots if r and Path(r).is_dir() for name in grader_copies(Path(r))]
    return sorted({p.resolve() for p in found if p.is_dir()})


def grade(submission: Path, rubric, timeout: Optional[float] = None) -> SubmissionResult:
    """Grade one student folder against ``rubric`` (see :class:`Grader`)."""
    with Grader(rubric, timeout) as grader:
        return grader.grade(submission)


def stand_ins(rubric, part, found_in: Mapping[str, str]) -> List[Dict[str, Any]]:
    """The graded functions ``part`` depends on, to be answered with the reference's values.

    Every function of the rubric's isolate map except those graded in this part
    (nothing ever stands in for the function under grading); each with the
    module the student's own version was found in by its part (``home``; None
    when its part did not find it: then the module students import it from is
    replaced whole, and its file, broken or hanging, is never run), that module,
    and ``stub`` (the rubric's no-op stand-ins: a function called for its output only).
    """
    graded = {c.name for c in part.find}
    stubs = getattr(rubric, "stubs", frozenset())
    return [{"name": fn, "home": found_in.get(fn), "module": module, "stub": fn in stubs}
            for fn, module in sorted(rubric.isolate.items()) if fn not in graded]


def submission_seed(rubric_seed: int, digest: str, public: bool = False) -> int:
    """The seed of every random input of one submission's checks.

    It mixes the rubric's seed with the digest of the submission's files and
    the course secret (coursesecret.course_secret: ``A1GRADER_SECRET``, else the
    installation's own, made once): the same files always get the same inputs,
    and so the same score, but no kit, earlier attempt, classmate's feedback or
    nonce ground offline tells a submission its inputs. ``public`` (the
    student kit, whose expected values were recorded in advance) keeps the
    rubric's seed: the kit's own public cases.
    """
    if public:
        return int(rubric_seed)
    from . import coursesecret
    text = "a1grader-seed\0%d\0%s\0%s" % (int(rubric_seed), digest, coursesecret.course_secret()[0])
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:15], 16)


def grade_parts(sandbox: Sandbox, rubric, reference: Reference,
                files: Optional[Dict[str, "legacy.FileReport"]] = None,
                seed: Optional[int] = None) -> Dict[str, PartResult]:
    """Grade every code part; where one depends on other graded functions, count each mistake once.

    First every part runs on the student's own functions (one worker can serve
    them all: Sandbox.open). Then a part that lost points while a function it
    uses (``uses``, default the whole isolate map) lost points too runs again
    with the reference's stand-ins for those functions, and the better result
    counts: a mistake in a function costs that function's part its points, and a function
    written consistently around the student's own conventions is judged on them too.
    A part with full marks on its own needs no second run: nothing can beat it.
    """
    parts = dependencies_first(rubric)
    own = {part.id: _grade_once(sandbox, rubric, reference, part, files, seed, []) for part in parts}
    if getattr(reference, "recorded_only", False):
        # A student's kit has no reference code to answer stand-ins: the student's own are used.
        return own
    found_in = {r.function.split(" in ")[0]: r.function.split(" in ")[1][:-3] for r in own.values()
                if r.function and " in " in r.function and r.function.endswith(".py")}
    results: Dict[str, PartResult] = {}
    for part in parts:
        mine = own[part.id]
        isolate = stand_ins(rubric, part, found_in)
        used = [s["name"] for s in isolate if part.uses is None or s["name"] in part.uses]
        deps = [results.get(d, own[d]) for d in _dependency_parts(rubric, used)]
        if mine.score >= mine.max_score or all(d.score >= d.max_score for d in deps):
            results[part.id] = mine
            continue
        course = _grade_once(sandbox, rubric, reference, part, files, seed, isolate)
        results[part.id] = _better(mine, course, isolate)
    return results


def _better(own: PartResult, course: PartResult, isolate) -> PartResult:
    """The better of a part's two runs, saying why when they differ (on a tie, the course's run)."""
    names = ", ".join(sorted(s["name"] for s in isolate if not s.get("stub")))
    if own.score > course.score:
        own.notes.append("graded with your own %s, which is better for you here than with correct "
                         "ones: your functions work together" % names)
        return own
    if course.score > own.score:
        course.notes.append("graded with correct %s standing in for yours, so that a mistake there "
                            "costs points once, in its own part" % names)
    return course


def dependencies_first(rubric) -> List[Any]:
    """The rubric's parts, those that grade a function others depend on (the isolate map) first.

    Each part then knows whether its dependencies are right; results are still
    reported in the rubric's order.
    """
    parts = [part for _, part in rubric.parts() if getattr(part, "written", None) is None]
    provides = set(_dependency_parts(rubric, list(rubric.isolate)))
    return [p for p in parts if p.id in provides] + [p for p in parts if p.id not in provides]


def _dependency_parts(rubric, names) -> List[str]:
    """The ids of the parts that grade the functions ``names``."""
    return [part.id for _, part in rubric.parts() if any(c.name in names and not c.adapter for c in part.find)]


def _grade_once(sandbox: Sandbox, rubric, reference, part, files, seed, isolate) -> PartResult:
    """Load the part's candidates in a worker (with ``isolate`` stand-ins) and run its checks."""
    callbacks = {s["name"]: reference.find(s["name"]) for s in isolate if reference.find(s["name"])}
    targets = list(dict.fromkeys((c.module, c.name) for c in part.find))
    ported = [module for module, report in (files or {}).items() if report.ported]
    # The worker stays for the next part of the same plan; the sandbox ends it.
    worker = sandbox.open(targets, isolate, callbacks, ported)
    return _grade_loaded(worker, rubric, reference, part, files or {}, seed)


def _grade_loaded(worker: Worker, rubric, reference, part, files, seed=None) -> PartResult:
    loaded = worker.loaded
    output = loaded.get("stdout", "")
    if loaded.get("failure"):
        status = "timeout" if loaded["failure"] == "timeout" else "crashed"
        return score_part(part, status, unscored_checks(part, loaded["error"]), output=output)
    found, modules = loaded["found"], loaded["modules"]
    chosen = next((c for c in part.find if found.get(c.module + "." + c.name) == "ok"), None)
    if chosen is None:
        status, why = _why_missing(part, found, modules, files, worker.sandbox.broken)
        return score_part(part, status, unscored_checks(part, why), output=output)
    chosen, why_not = _standalone(worker, part, chosen, found)
    notes = _load_notes(chosen, modules) + (files[chosen.module].notes(rubric.policy)
                                            if chosen.module in files else [])
    label = "%s in %s.py" % (chosen.name, chosen.module)
    student = StudentFunction(worker, chosen.module + "." + chosen.name, label)
    if chosen.adapter:
        student = ADAPTERS[chosen.adapter](student)
        notes.append("%s: graded through %s%s" % (why_not or "no standalone %s found" % part.find[0].name,
                                                  student.name, " (%s)" % student.how if getattr(student, "how", "") else ""))
        ref_fn = next((reference.function(c.module, c.name) for c in part.find if not c.adapter
                       and reference.function(c.module, c.name)), None)
    else:
        ref_fn = next((reference.function(c.module, c.name) for c in part.find
                       if reference.function(c.module, c.name)), None)
    ref = RefFunction(ref_fn, reference)
    checks = run_checks(rubric, part, student, ref, seed)
    report = files.get(chosen.module)
    if report is not None and report.ported and legacy._penalty(rubric.policy):
        keep = 1.0 - legacy._penalty(rubric.policy)
        for check in checks:
            check.score = points(check.score * keep)
    status = "timeout" if "timeout" in worker.failures else "crashed" if worker.failures else "graded"
    result = score_part(part, status, checks, function=label, notes=notes, output=output)
    result.mistakes.extend(named_mistakes(result, part, student, ref))
    # A named mistake says more than the check's generic hint: it comes first.
    result.hints = [m["hint"] for m in result.mistakes] + result.hints
    return result


def _standalone(worker: Worker, part, chosen, found) -> Tuple[Any, Optional[str]]:
    """The candidate to grade, and why a function of the part's name was passed over.

    A function found under the part's name (a private helper of the same name, taking other
    arguments) is the one the part means only when the rubric offers no other reading of the
    part (no adapter after it) or it behaves as one on the adapter's probe
    (``not_standalone``); otherwise the part is read through the adapter.
    """
    if chosen.adapter:
        return chosen, None
    later = next((c for c in part.find[part.find.index(chosen) + 1:]
                  if c.adapter and found.get(c.module + "." + c.name) == "ok"), None)
    if later is None:
        return chosen, None
    label = "%s in %s.py" % (chosen.name, chosen.module)
    why = ADAPTERS[later.adapter].not_standalone(StudentFunction(worker, chosen.module + "." + chosen.name, label))
    if why is None:
        return chosen, None
    return later, "%s is not %s (%s)" % (label, ADAPTERS[later.adapter].stands_for, why)


def run_check(rubric, part, spec, student, ref, seed: Optional[int] = None) -> CheckOutcome:
    """Run one check; a student failure or a grader bug fails that check alone."""
    kind = REGISTRY[spec.kind]
    if spec.visibility != "visible" and getattr(ref.reference, "recorded_only", False):
        return _after_submission(spec)
    opts, rng = _check_inputs(rubric, part, spec, kind, seed)
    return _guarded(part, spec, student, lambda: kind.fn(student, ref, opts, rng))


def run_checks(rubric, part, student, ref, seed: Optional[int] = None) -> List[CheckOutcome]:
    """Run a part's checks, each as :func:`run_check` would, and return them in the rubric's order.

    The calls of the checks written as plans (checks.base.register_plan: a gradient
    checker's cases, controls and wrong gradients) are drawn first, then made
    interleaved in an order drawn from the submission's seed, then judged: nothing in
    the student's process (a counter of calls, a file) can tell which call is which
    from how many came before; only what the calls return does . The same
    files and course secret give the same order. The other checks run first, in order.
    """
    outcomes: Dict[int, CheckOutcome] = {}
    plans = []
    for i, spec in enumerate(part.checks):
        kind = REGISTRY[spec.kind]
        if kind.plan is None or (spec.visibility != "visible" and getattr(ref.reference, "recorded_only", False)):
            outcomes[i] = run_check(rubric, part, spec, student, ref, seed)
            continue
        opts, rng = _check_inputs(rubric, part, spec, kind, seed)
        planned: List[Any] = []

        def draw(kind=kind, opts=opts, rng=rng, planned=planned) -> CheckResult:
            planned.extend(kind.plan(opts, rng))   # (calls, judge)
            return CheckResult.ok("")

        outcome = _guarded(part, spec, student, draw)
        if planned:
            plans.append((i, spec, planned[0], planned[1]))
        else:
            outcomes[i] = outcome   # the plan itself failed: a grader bug, reported as such
    records: Dict[Tuple[int, int], Any] = {}
    for j, k in call_order(part.id, rubric.seed if seed is None else seed, [len(p[2]) for p in plans]):
        records[j, k] = plans[j][2][k].run(student)
    for j, (i, spec, calls, judge) in enumerate(plans):
        outcomes[i] = _guarded(part, spec, student, lambda j=j, calls=calls, judge=judge: judge(
            [records[j, k] for k in range(len(calls))], student.name))
    return [outcomes[i] for i in range(len(part.checks))]


def call_order(part_id: str, seed: int, counts: Sequence[int]) -> List[Tuple[int, int]]:
    """The order of a part's planned calls: ``(plan, call)`` pairs, for plans of ``counts`` calls each.

    A permutation drawn from the submission's seed (the course secret in it) and the part.
    """
    slots = [(j, k) for j, count in enumerate(counts) for k in range(count)]
    order = seeded_rng(seed, part_id, "\0schedule").permutation(len(slots))
    return [slots[int(n)] for n in order]


def _after_submission(spec) -> CheckOutcome:
    """A hidden check in the kit: not run, not failed, and out of the total (the kit can see only the rest)."""
    outcome = score_check(spec, 1.0, "graded after submission (a hidden check worth %g points)" % spec.points,
                          {"after_submission": spec.points})
    outcome.score = outcome.max_score = 0.0
    return outcome


def _check_inputs(rubric, part, spec, kind, seed: Optional[int]):
    """A check's options (the rubric's policy merged in) and its generator, seeded per part and check."""
    opts = dict(spec.options)
    if "cost" in kind.options() and "cost" in rubric.policy:
        opts["cost"] = rubric.policy["cost"]
    return opts, seeded_rng(rubric.seed if seed is None else seed, part.id, spec.id)


def _guarded(part, spec, student, run) -> CheckOutcome:
    """The outcome of ``run()`` (a CheckResult); a student failure or a grader bug fails this check alone."""
    try:
        with np.errstate(all="ignore"):
            result = run()
    except StudentError as exc:
        result = CheckResult.fail("%s %s" % (student.name, exc.describe()))
    except ZygoteFailure:
        raise   # the sandbox failed, not the check: the whole submission is graded again
    except Exception as exc:  # noqa: BLE001 - a grader bug must not cost other checks
        print(NAME + ": internal error in check %s/%s: %r" % (part.id, spec.id, exc), file=sys.stderr)
        result = CheckResult.fail("the grader could not run this check (%s: %s); please report it"
                                  % (type(exc).__name__, exc))
    return score_check(spec, result.fraction, result.message, dict(result.details))


def _why_missing(part, found, modules, files=None, broken=None) -> Tuple[str, str]:
    """The status and one-line reason when no candidate function could be used.

    ``broken``: modules that hung or ended a worker while loading (Sandbox.broken), with why.
    """
    for c in part.find:
        if c.module in (broken or {}) and found.get(c.module + "." + c.name) != "no file":
            failure, why = broken[c.module]
            return failure, why + "; it is not loaded again, and other parts use correct stand-ins for what it defines"
    for c in part.find:
        report = (files or {}).get(c.module)
        if report is not None and report.python2 and not report.ported:
            line, what = report.python2
            return "error", ("%s.py is Python 2 (line %d: %s); this course's rubric does not port Python 2"
                             % (c.module, line, what))
    absent = {c.module for c in part.find if found.get(c.module + "." + c.name) == "no file"}
    for c in part.find:
        report = modules.get(c.module, {})
        # A module failing on `from sibling import ...` when that sibling file is absent
        # means the function is missing, not that the module is broken.
        missing_sibling = report.get("type") == "ModuleNotFoundError" and any(
            "'%s'" % m in str(report.get("message")) for m in absent)
        if report.get("status") in ("error", "partial") and c.module not in absent and not missing_sibling:
            where = "%s.py" % c.module
            if report.get("line"):
                where += " line %s" % report["line"]
            stage = "could not be loaded" if report["status"] == "error" else \
                "stopped loading before %s was defined" % c.name
            why = "%s %s: %s: %s" % (where, stage, report.get("type"), report.get("message"))
            if report.get("type") == "ModuleNotFoundError":
                why += (" (grading offers the course's environment: numpy, scipy, matplotlib and the standard "
                        "library; import nothing else, or only inside the function that needs it)")
            return "error", why
    names = " or ".join(sorted({"%s in %s.py" % (c.name, c.module) for c in part.find if not c.adapter}))
    return "missing", "not found: no %s in your submission" % names


def _load_notes(chosen, modules) -> List[str]:
    report = modules.get(chosen.module, {})
    if report.get("status") == "partial":
        return ["top-level code in %s.py raised %s: %s (line %s); the functions defined before it "
                "were graded" % (chosen.module, report.get("type"), report.get("message"), report.get("line"))]
    return []
