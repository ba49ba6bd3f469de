"""The interpreter's limits: named constants and the budget that enforces them.

Every message says which limit was hit and what to do. Source size and layer count are
:data:`engine.stack.spec.MAX_SOURCE_BYTES` and :data:`engine.stack.spec.MAX_LAYERS`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

MAX_STEPS = 200_000            # statements and expressions evaluated
MAX_LOOP_ITERATIONS = 10_000   # iterations of any one for / while loop or comprehension
MAX_CALL_DEPTH = 40            # nested calls of the file's own functions
MAX_SECONDS = 0.7              # wall time of one reading (the whole summary stays < 1 s)
MAX_COLLECTION = 100_000       # items of a list, tuple, dict or characters of a string
MAX_NUMBER = 10 ** 12          # magnitude of any arithmetic result
MAX_LAYERS_CREATED = 2_000     # layers created by the whole file (each model: MAX_LAYERS)


class LimitExceeded(ValueError):
    """A limit was hit; the message names it. ``program`` / ``partial`` as for
    :class:`~engine.stack.interp.errors.Refused`."""

    program = None
    partial = None


@dataclass
class Budget:
    """Counts steps and call depth, watches the clock."""

    started: float = field(default_factory=time.monotonic)
    steps: int = 0
    depth: int = 0
    line: object = "?"          # the line being read (for messages)

    def step(self, line) -> None:
        """One statement or expression more; the clock is checked too."""
        self.steps += 1
        self.line = line
        if self.steps > MAX_STEPS:
            raise LimitExceeded(f"Line {line}: the code takes more than {MAX_STEPS:,} steps "
                                "(limit MAX_STEPS); shorten the loops or paste the model "
                                "definition only.")
        if time.monotonic() - self.started > MAX_SECONDS:
            raise LimitExceeded(f"Line {line}: reading the code took more than {MAX_SECONDS} s "
                                "(limit MAX_SECONDS); paste a smaller model.")

    def loop_iteration(self, count: int, line) -> None:
        if count > MAX_LOOP_ITERATIONS:
            raise LimitExceeded(f"Line {line}: a loop runs more than {MAX_LOOP_ITERATIONS:,} "
                                "iterations (limit MAX_LOOP_ITERATIONS); use fewer.")

    def enter_call(self, line) -> None:
        self.depth += 1
        if self.depth > MAX_CALL_DEPTH:
            raise LimitExceeded(f"Line {line}: calls nest more than {MAX_CALL_DEPTH} deep "
                                "(limit MAX_CALL_DEPTH); is a function calling itself "
                                "without end?")

    def leave_call(self) -> None:
        self.depth -= 1


def check_size(value, line):
    """Numbers within :data:`MAX_NUMBER`, collections within :data:`MAX_COLLECTION`."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if abs(value) > MAX_NUMBER:
            raise LimitExceeded(f"Line {line}: a number larger than 10**12 (limit MAX_NUMBER): "
                                f"no layer needs one.")
    elif isinstance(value, (str, list, tuple, dict, set)) and len(value) > MAX_COLLECTION:
        raise LimitExceeded(f"Line {line}: a {type(value).__name__} of more than "
                            f"{MAX_COLLECTION:,} items (limit MAX_COLLECTION).")
    return value
