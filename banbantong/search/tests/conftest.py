from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def media(settings: object, tmp_path: Path) -> Path:
    """Resource files of search tests go to a private folder."""
    root = tmp_path / "media"
    settings.MEDIA_ROOT = str(root)  # type: ignore[attr-defined]
    return root
