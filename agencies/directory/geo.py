"""Centroids by TERYT code, and distances between them (issue 14, item 2):
the directory orders services by distance from the gmina a caseworker
searches from.

teryt_centroids.csv beside this module holds one centroid per powiat (the
first 4 digits of a gmina's 7-digit TERYT code); its header names the
public data it was derived from. A gmina takes its powiat's centroid, so
services in the same powiat are equally near and sort by the freshness of
their capacity; an unknown code has no centroid (such services sort last).
"""

import csv
import math
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "teryt_centroids.csv"
EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)


@cache
def _centroids() -> dict[str, tuple[float, float]]:
    with DATA.open(encoding="utf-8") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        return {row["teryt"]: (float(row["latitude"]), float(row["longitude"])) for row in rows}


def centroid(teryt: str) -> tuple[float, float] | None:
    """(latitude, longitude) in degrees of the powiat of a gmina (7 digits)
    or powiat (4), or None when the code is not known."""
    return _centroids().get(teryt[:4]) if teryt and len(teryt) in (4, 7) else None


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle (haversine) distance between two (lat, lon) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))
