"""Right answers per lesson: a small immutable record a page keeps in its session and
writes into the URL (``done=1:0.2,7:1``: lesson ``1`` exercises 0 and 2, lesson 7
exercise 1, for the seed of the same link)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from engine.lessons.catalog import LESSONS, MAX_EXERCISES

_PART = re.compile(r"(\d{1,2}):(\d{1,2}(?:\.\d{1,2})*)")


@dataclass(frozen=True)
class Progress:
    """``right``: per lesson, the indices of the exercises answered right."""

    right: dict = field(default_factory=dict)

    def with_right(self, lesson: int, index: int) -> "Progress":
        """A new record with exercise ``index`` of ``lesson`` answered right."""
        right = dict(self.right)
        right[lesson] = frozenset(right.get(lesson, frozenset()) | {index})
        return Progress(right)

    def count(self, lesson: int, n: int | None = None) -> int:
        """Right answers in ``lesson`` (among its first ``n`` exercises when given)."""
        done = self.right.get(lesson, frozenset())
        return len(done) if n is None else sum(1 for i in done if i < n)

    def is_right(self, lesson: int, index: int) -> bool:
        return index in self.right.get(lesson, frozenset())

    def to_text(self) -> str:
        """``1:0.2,7:1`` (lessons in order, empty lessons left out)."""
        return ",".join(f"{lesson}:" + ".".join(map(str, sorted(done)))
                        for lesson, done in sorted(self.right.items()) if done)

    @classmethod
    def from_text(cls, text) -> "Progress":
        """Read :meth:`to_text`'s form; parts that are not lesson ``1…10`` with indices
        below :data:`MAX_EXERCISES` are skipped (a URL may carry anything)."""
        right: dict = {}
        for part in str(text or "")[:400].split(","):
            match = _PART.fullmatch(part.strip())
            if not match or int(match.group(1)) not in LESSONS:
                continue
            indices = {int(i) for i in match.group(2).split(".") if int(i) < MAX_EXERCISES}
            if indices:
                lesson = int(match.group(1))
                right[lesson] = frozenset(right.get(lesson, frozenset()) | indices)
        return cls(right)


__all__ = ["Progress"]
