"""The stable result JSON (README.md, "The result JSON")."""
from __future__ import annotations

import json

from ..scoring import SubmissionResult
from .common import clean_tree


def render(result: SubmissionResult) -> str:
    """One JSON object, fields in the result tree's order; every string cleaned, so it always encodes as UTF-8."""
    return json.dumps(clean_tree(result.to_dict()), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
