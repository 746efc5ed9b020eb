"""The review queue: the class's answers grouped, what needs a person first, largest groups first.

A written part's answers are grouped by their results' signature (equal results, as the
written checks decide equality: by value on inputs the whole class shares); an answer the
grader could not evaluate stands with the answers of identical text. A code part's by
its status, failing checks and named mistakes. A group *needs a person* when a member's
part is ``needs_review``, crashed, timed out or could not be loaded, or when a TA's
earlier decision went stale; it is *done* when every member has a current decision.

A decision stays with the answer it was made for: a student whose answer changed since
(a stale decision) never re-opens the group its classmates were decided in, but forms a
group of its own kind ("changed since decided") with the others whose equal answers changed.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from .. import overrides as ov
from ..gradebook import Gradebook

NEEDS_STATUS = ("crashed", "timeout", "error")


@dataclass
class Member:
    student: str
    part: Dict[str, Any]
    override: Optional[ov.Override] = None

    @property
    def decided(self) -> bool:
        return self.override is not None and self.override.fingerprint == self.part.get("fingerprint", "")

    @property
    def needs(self) -> bool:
        stale = self.override is not None and not self.decided
        return stale or self.part.get("verdict") == "needs_review" or self.part.get("status") in NEEDS_STATUS


@dataclass
class Group:
    id: str
    part_id: str
    title: str
    max_score: float
    written: bool
    changed: bool = False      # its members' answers changed since a TA decided them (stale decisions)
    members: List[Member] = field(default_factory=list)

    @property
    def needs(self) -> bool:
        return any(m.needs for m in self.members)

    @property
    def done(self) -> bool:
        return all(m.decided for m in self.members)

    @property
    def first(self) -> Member:
        return self.members[0]

    @property
    def decided(self) -> List[Member]:
        """Members with a current decision: a group decision replaces these only when the TA asks to."""
        return [m for m in self.members if m.decided]


def _key(part: Dict[str, Any]) -> Optional[str]:
    """What groups a part's answer with others'; None: not an answer a person looks at (full marks in code)."""
    if part.get("verdict"):
        if part["verdict"] == "missing":
            return "missing"
        written = part.get("written") or {}
        # Equal results with the same verdict (and, for a person to look at, the same reason) group together.
        reason = written.get("reason", "") if part["verdict"] == "needs_review" else ""
        value = "value:" + written["signature"] if written.get("signature") else "text:" + part.get("fingerprint", "")
        return "%s:%s:%s" % (part["verdict"], value, reason)
    if part.get("score", 0) >= part.get("max_score", 0) and part.get("status") == "graded":
        return None
    failing = sorted(c["id"] for c in part.get("checks", []) if not c.get("passed"))
    mistakes = sorted(m.get("id", "") for m in part.get("mistakes", []) or [])
    return "code:%s:%s:%s" % (part.get("status"), ",".join(failing), ",".join(mistakes))


def groups(book: Gradebook) -> List[Group]:
    """Every answer group of the class (of the book's assignment): those that need a person first, then by size."""
    decided = ov.load(book.db, book.assignment)
    found: Dict[str, Group] = {}
    order: Dict[str, int] = {}
    for row in book.rows():
        result = row.result_dict() if row.result else None
        if not result:
            continue
        for question in result.get("questions", []):
            for part in question.get("parts", []):
                key = _key(part)
                if key is None and (row.student, part["id"]) not in decided:
                    continue
                key = key or "decided"
                member = Member(row.student, part, decided.get((row.student, part["id"])))
                changed = member.override is not None and not member.decided
                key = ("changed:" if changed else "") + key
                gid = hashlib.sha1(("%s\0%s" % (part["id"], key)).encode()).hexdigest()[:12]
                group = found.get(gid)
                if group is None:
                    order.setdefault(part["id"], len(order))
                    group = found[gid] = Group(gid, part["id"], part.get("title", part["id"]),
                                               float(part.get("max_score", 0)), bool(part.get("verdict")), changed)
                group.members.append(member)
    return sorted(found.values(), key=lambda g: (not g.needs or g.done, -len(g.members), order[g.part_id], g.id))


def progress(all_groups: List[Group]) -> Dict[str, int]:
    """Answers that need a person: how many are decided, how many are left."""
    needing = [m for g in all_groups if g.needs for m in g.members]
    done = sum(1 for m in needing if m.decided)
    return {"done": done, "left": len(needing) - done, "groups_left": sum(1 for g in all_groups if g.needs and not g.done)}
