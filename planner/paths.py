"""Where things are: the package, the project checkout, static files and the demo data.

A leaf module (imports nothing from the project), so every layer may use it.
"""

from __future__ import annotations

from pathlib import Path

__version__ = "0.2.0"

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
STATIC_DIR = PROJECT_DIR / "static"
DATA_DIR = PROJECT_DIR / "data"
SCHEMA_DIR = PACKAGE_DIR / "schemas"
