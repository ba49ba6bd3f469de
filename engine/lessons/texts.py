"""The lesson texts: one Markdown file per lesson under ``assets/lessons/``, named
``NN-slug.md``, that a teacher can read and edit. Each starts with a header::

    ---
    title: Stride and output size
    try: view=explore&layer=Conv2D&filters=4&kernel_size=3&strides=2
    ---

``title`` is required; ``try`` (optional) is the app link the lesson suggests. The body
after the header is the lesson (at most about 120 words).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

LESSON_DIR = Path(__file__).resolve().parents[2] / "assets" / "lessons"
MAX_WORDS = 120

_FILE = re.compile(r"(\d\d)-([a-z0-9-]+)\.md")
_HEADER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)


@dataclass(frozen=True)
class Lesson:
    """One lesson: ``number`` (1…), ``slug`` (from the file name), ``title``, ``body``
    (Markdown) and ``try_link`` (a query string for the app, or "")."""

    number: int
    slug: str
    title: str
    body: str
    try_link: str = ""

    @property
    def words(self) -> int:
        """Words of the body (Markdown marks and formulas count as they are written)."""
        return len(re.findall(r"[\w’'-]+", self.body))


def read_lesson(path: Path) -> Lesson:
    """One ``NN-slug.md`` file; ValueError naming the file when its form is wrong."""
    match = _FILE.fullmatch(path.name)
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    header = _HEADER.match(text)
    if not match or not header:
        raise ValueError(f"{path}: a lesson file is NN-slug.md and starts with a '---' header")
    fields = dict(line.split(":", 1) for line in header.group(1).splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    if not fields.get("title"):
        raise ValueError(f"{path}: the header needs a 'title:' line")
    return Lesson(int(match.group(1)), match.group(2), fields["title"],
                  text[header.end():].strip(), fields.get("try", ""))


@lru_cache(maxsize=4)
def load_lessons(directory: Path = LESSON_DIR) -> tuple:
    """Every lesson of ``directory``, by number (numbers must run 1, 2, 3 …)."""
    lessons = tuple(sorted((read_lesson(p) for p in Path(directory).glob("*.md")),
                           key=lambda lesson: lesson.number))
    if [x.number for x in lessons] != list(range(1, len(lessons) + 1)):
        raise ValueError(f"{directory}: lesson files must be numbered 01, 02, … without gaps")
    return lessons


__all__ = ["LESSON_DIR", "Lesson", "MAX_WORDS", "load_lessons", "read_lesson"]
