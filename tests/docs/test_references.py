"""Every file the README and the docs name is in the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.docs.test_docs_run import DOCUMENTS, ROOT

# A repository path in backquotes: `tests/lab/test_bursts.py`, `benchmarks/lab.py`.
PATH = re.compile(
    r"`((?:tests|benchmarks|moviemind_lite|docs|scripts|research|seeds)/[\w./-]+\.\w+)`"
)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_path_the_document_names_exists(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    missing = [path for path in PATH.findall(text) if not (ROOT / path).exists()]
    assert missing == []
