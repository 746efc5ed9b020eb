"""The stable result JSON of DESIGN.md."""
from __future__ import annotations

import json

from ..scoring import SubmissionResult


def render(result: SubmissionResult) -> str:
    """One JSON object; keys sorted within the fixed structure so output is byte-stable."""
    return json.dumps(result.to_dict(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
