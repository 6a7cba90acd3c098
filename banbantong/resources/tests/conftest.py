from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def media(settings: object, tmp_path: Path) -> Path:
    """Every resource test stores files in its own folder, and can look at what is left there."""
    root = tmp_path / "media"
    settings.MEDIA_ROOT = str(root)  # type: ignore[attr-defined]
    return root
