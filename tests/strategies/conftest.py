"""Strategy races make scratch homes too: under the test's own folder, as in the lab's tests."""

from __future__ import annotations

from tests.lab.conftest import scratch_parent

__all__ = ["scratch_parent"]
