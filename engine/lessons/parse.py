"""Reading a student's answer: shapes, counts, numbers, cells and Keras argument values.

Small regular-expression tokenizers and :func:`ast.literal_eval` only (never ``eval``).
Each reader returns ``None`` when it cannot read the text, so that the caller can say which
form it expects. Accepted forms:

- shapes and pairs (:func:`read_ints`): ``(1, 32, 32, 8)``, ``(None, 32, 32, 8)``,
  ``[32, 32, 8]``, ``32x32x8``, ``32 × 32 × 8``, ``32 32 8``, words between the numbers
  (``32 rows × 32 columns × 8 channels``, ``1 before, 2 after``) are ignored;
- counts (:func:`read_count`): ``1234``, ``1,234``, ``1 234``, ``1_234``, ``1'234``, with an
  optional trailing word (``1,234 parameters``);
- numbers (:func:`read_number`): ``-3``, ``−3``, ``4.5``, ``9.0``;
- cells (:func:`read_cells`): a list of tuples ``(2, 0), (2, 1)`` (what clicking writes), or
  ranges per axis ``rows 2–4, columns 0–2``, ``2-4, 0-2``, ``2..4 x 0..2``,
  ``rows 0, 2, 4; columns 1, 3``;
- argument values (:func:`read_value`): Python literals ``2``, ``(2, 2)``, ``"same"``, bare
  words ``same``, optionally preceded by ``name=``.
"""

from __future__ import annotations

import ast
import itertools
import math
import re

from engine.literals import literal

MAX_TEXT = 2_000      # characters of an answer that are read at all
MAX_CELLS = 4_096     # cells one answer may list (a box of 64 × 64)

_TOKEN = re.compile(r"\d+|none|\?|[^\W\d_]+|[,;:()\[\]{}×✕*·=\s]+|.", re.IGNORECASE)
_SEPARATORS = re.compile(r"[,;:()\[\]{}×✕*·=\s]+")
_COUNT = re.compile(r"(\d{1,3}(?:([,_' \u2009\u202f\u00a0])\d{3})(?:\2\d{3})*|\d+)"
                    r"(?:\s*[^\W\d_]+)?")
_NUMBER = re.compile(r"[-−+]?(?:\d+(?:\.\d*)?|\.\d+)")
_RANGE = re.compile(r"(\d+)\s*(?:\.\.\.?|…|–|—|-|to)\s*(\d+)")
_AXIS_WORD = re.compile(r"(steps?|depths?|rows?|columns?|cols?)", re.IGNORECASE)


def _clean(text: str) -> str | None:
    """``text`` stripped, or ``None`` when it is not a string of sensible length."""
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        return None
    return text.strip()


def read_ints(text: str) -> tuple | None:
    """The integers of ``text`` in order (``None``, ``none`` or ``?`` read as ``None``);
    words and the separators ``, ; : × x * ·`` and brackets are skipped; any other symbol
    (``-``, ``.``, ``/``) makes the text unreadable."""
    text = _clean(text)
    if not text:
        return None
    out: list = []
    for token in _TOKEN.findall(text):
        if token.isdigit():
            out.append(int(token))
        elif token.lower() in ("none", "?"):
            out.append(None)
        elif not (token.isalpha() or _SEPARATORS.fullmatch(token)):
            return None
    return tuple(out) or None


def read_count(text: str) -> int | None:
    """A whole number written with or without thousands separators."""
    text = _clean(text)
    match = _COUNT.fullmatch(text or "")
    if not match:
        return None
    return int(re.sub(r"\D", "", match.group(1)))


def read_number(text: str) -> float | None:
    """A decimal number (the minus sign may be ``−``); thousands separators allowed."""
    text = _clean(text)
    if text and read_count(text) is not None:
        return float(read_count(text))
    if not text or not _NUMBER.fullmatch(text):
        return None
    return float(text.replace("−", "-"))


def _axis_values(segment: str) -> set | None:
    """``0–2, 5`` → {0, 1, 2, 5}; ``None`` if unreadable or too long."""
    values: set = set()
    rest = _RANGE.sub(" ", segment)
    for lo, hi in _RANGE.findall(segment):
        lo, hi = int(lo), int(hi)
        if hi < lo or hi - lo >= MAX_CELLS:
            return None
        values.update(range(lo, hi + 1))
    ints = read_ints(rest) if rest.strip(" ,;") else ()
    if ints is None or None in ints:
        return None
    values.update(ints)
    return values or None


def _axis_segments(text: str, rank: int) -> list | None:
    """The text of each axis, in spatial order: by axis words when present, else split at
    ``;``, ``×``, `` x `` or ``|``, else (one segment per axis) at commas."""
    parts = _AXIS_WORD.split(text)
    if len(parts) > 1:
        if parts[0].strip(" ,;"):
            return None
        names = [p.lower().rstrip("s") for p in parts[1::2]]
        order = {1: ("step",), 2: ("row", "col"), 3: ("depth", "row", "col")}[rank]
        names = ["col" if n == "column" else n for n in names]
        if sorted(names) != sorted(order):
            return None
        by_name = dict(zip(names, parts[2::2]))
        return [by_name[n] for n in order]
    segments = re.split(r"[;×✕|]|\s[xX]\s|(?<=\d)[xX](?=\d)", text)
    if len(segments) == 1 and rank > 1:
        segments = text.split(",")
    return segments if len(segments) == rank else None


def read_cells(text: str, rank: int) -> frozenset | None:
    """The set of cells (tuples of ``rank`` ints) the text names (forms: module docstring)."""
    text = _clean(text)
    if not text:
        return None
    if "(" in text:
        groups = re.findall(r"\(([^()]*)\)", text)
        if re.sub(r"\([^()]*\)", "", text).strip(" ,;[]{}"):
            return None
        cells = [read_ints(g) for g in groups]
        if not cells or any(c is None or len(c) != rank or None in c for c in cells):
            return None
        return frozenset(cells) if len(cells) <= MAX_CELLS else None
    segments = _axis_segments(text, rank)
    axes = [_axis_values(s) for s in segments] if segments else None
    if not axes or None in axes or math.prod(len(a) for a in axes) > MAX_CELLS:
        return None
    return frozenset(itertools.product(*(sorted(a) for a in axes)))


def read_value(text: str, argument: str):
    """A Keras argument value: a Python literal (``2``, ``(2, 2)``, ``"same"``) or a bare
    word (``same``); ``argument=`` before it is allowed. ``None`` when unreadable."""
    text = _clean(text)
    if not text:
        return None
    text = re.sub(rf"^{re.escape(argument)}\s*=\s*", "", text)
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text if re.fullmatch(r"[A-Za-z_]+", text) else None


def cells_text(cells) -> str:
    """``(2, 0), (2, 1)``: cells as :func:`read_cells` reads them back (sorted)."""
    return ", ".join(literal(tuple(int(i) for i in c)) for c in sorted(cells))


__all__ = ["MAX_CELLS", "cells_text", "read_cells", "read_count", "read_ints", "read_number",
           "read_value"]
