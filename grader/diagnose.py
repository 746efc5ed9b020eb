"""Named mistakes: a part's mistake finder (rubric ``diagnose:``), run where the part lost points.

A finder is an assignment's code (grader.plugins.mistake_finders): it compares what the
student's function returns with variants of the reference's maths and names the mistakes
it recognizes; the rubric's ``mistakes:`` gives each one's hint. Diagnosis runs only for a
graded part that lost points, only where the reference is (a student kit has neither the
reference nor the finders), never raises and never changes a score.
"""
from __future__ import annotations

from typing import Dict, List

import numpy as np

from .plugins import FINDERS


def named_mistakes(result, spec, student, ref) -> List[Dict[str, str]]:
    """The known mistakes ``result`` (a PartResult of the rubric part ``spec``) shows, with their hints."""
    if not spec.diagnose or result.score >= result.max_score or result.status != "graded":
        return []
    if getattr(ref.reference, "recorded_only", False):
        return []
    try:
        with np.errstate(all="ignore"):
            found = FINDERS[spec.diagnose].load()(result, student, ref)
    except Exception:  # noqa: BLE001 - a diagnosis must never cost a grade
        return []
    return [{"id": m, "hint": spec.mistakes[m]} for m in dict.fromkeys(found) if m in spec.mistakes]
