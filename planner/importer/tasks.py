"""What the sandboxed child process does (``planner.importer.sandbox``): read and check a file,
and for a recap match it to the villages. Importing this module imports every reader and the
libraries they use, so the process server that preloads it hands out ready children."""

from __future__ import annotations

import geopandas  # noqa: F401  (preloaded for the children)
import pandas as pd
import pyogrio  # noqa: F401
import pyproj  # noqa: F401

from .boundaries import read_boundaries
from .join import JoinResult, join_recap
from .legs import read_legs
from .network import read_network
from .recap import read_recap


def boundaries(path: str, filename: str):
    """The validated village GeoDataFrame (EPSG:4326)."""
    return read_boundaries(path, filename=filename)


def recap(path: str, filename: str, villages: pd.DataFrame | None,
          confirm: dict[str, str] | None) -> JoinResult | None:
    """The recap read, validated and joined to ``villages`` (code, name, kecamatan); None when
    there are no villages yet (the file is still checked first)."""
    table = read_recap(path, filename=filename)
    if villages is None or len(villages) == 0:
        return None
    return join_recap(table, villages, confirm=confirm)


def network(path: str, filename: str, kind: str):
    """A validated network layer (roads, rivers or piers; EPSG:4326)."""
    return read_network(path, kind=kind, filename=filename)


def legs(path: str, filename: str):
    """Known travel times for the calibration page (``planner.importer.legs``)."""
    return read_legs(path, filename=filename)


TASKS = {"boundaries": boundaries, "recap": recap, "network": network, "legs": legs}
