"""Repository-root pytest setup: snapshots live in ./snapshots/<test module>/ and run in a scrubbed env."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).parent

for var in ("NO_COLOR", "TEXTUAL_THEME", "FORCE_COLOR", "TEXTUAL", "CCCONSOLE_DB"):
    os.environ.pop(var, None)
os.environ["TEXTUAL_ANIMATIONS"] = "none"

try:
    from pytest_textual_snapshot import SVGImageExtension
except ImportError:  # pragma: no cover - the plugin is a test dependency
    SVGImageExtension = None

if SVGImageExtension is not None:

    @classmethod
    def _dirname(cls, *, test_location):
        return str(ROOT / "snapshots" / Path(test_location.filepath).stem)

    SVGImageExtension.dirname = _dirname
