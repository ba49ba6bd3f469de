"""Fixtures shared by several test modules."""

from __future__ import annotations

import numba
import pytest


@pytest.fixture(scope="module")
def serial_numba():
    """Tiny layers run faster on one thread, above all on a loaded machine (use it with
    ``pytestmark = pytest.mark.usefixtures("serial_numba")``)."""
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)
