"""Derive teryt_centroids.csv (one area centroid per powiat) from public data.

Run by hand when the source data changes, never by the hub or CI; the hub
only reads the CSV this writes (agencies/directory/geo.py). Standard library
only, so it runs with any Python 3.11+:

    python agencies/directory/derive_centroids.py POWIATY.geojson \\
        WOJEWODZTWA.geojson TERC.json [OUT.csv]

POWIATY/WOJEWODZTWA: powiaty-min.geojson and wojewodztwa-min.geojson of
github.com/ppatrzyk/polska-geojson (MIT; converted from GUGiK's PRG), lon/lat
WGS84, each feature with only a name ('powiat ropczycko-sędziszowski',
'powiat Wrocław', 'dolnośląskie'). TERC: the GUS TERC register as a JSON
array of {WOJ, POW, GMI, NAZWA, NAZWA_DOD, ...} objects, or GUS's own
TERC CSV (';'-separated, same columns). OUT defaults to teryt_centroids.csv
beside this script.

The geojson has no codes, so polygons are matched to TERC powiats by name.
Ten land-powiat names occur in two voivodeships (bielski, brzeski, ...): the
voivodeship polygon containing the powiat's centroid settles which code it
takes. The script fails loudly unless every TERC powiat gets exactly one
polygon.
"""

import csv
import datetime
import json
import sys
from pathlib import Path

# Poland's bounding box, padded a little: a centroid outside it means a
# swapped axis or a wrong polygon.
LAT_RANGE = (49.0, 54.9)
LON_RANGE = (14.1, 24.2)

# Powiats renamed since the polygons were drawn (same code, same borders):
# powiat jeleniogórski became karkonoski on 2021-01-01.
RENAMED = {"jeleniogórski": "karkonoski"}


def ring_area_centroid(ring: list[list[float]]) -> tuple[float, float, float]:
    """Signed area and centroid (x, y) of a closed or open ring (shoelace)."""
    area2 = cx = cy = 0.0
    points = ring if ring[0] != ring[-1] else ring[:-1]
    for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1]):
        cross = x0 * y1 - x1 * y0
        area2 += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if area2 == 0:
        return 0.0, points[0][0], points[0][1]
    return area2 / 2, cx / (3 * area2), cy / (3 * area2)


def polygons(geometry: dict) -> list[list[list[list[float]]]]:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    if geometry["type"] == "MultiPolygon":
        return geometry["coordinates"]
    raise ValueError(f"unexpected geometry {geometry['type']}")


def area_centroid(geometry: dict) -> tuple[float, float]:
    """(lon, lat) planar area centroid; holes (a city powiat inside its land
    powiat) are subtracted, parts of a MultiPolygon weighted by area."""
    total = sx = sy = 0.0
    for rings in polygons(geometry):
        for index, ring in enumerate(rings):
            area, x, y = ring_area_centroid(ring)
            # Orientation differs between sources: the outer ring adds, holes subtract.
            weight = abs(area) if index == 0 else -abs(area)
            total += weight
            sx += weight * x
            sy += weight * y
    return sx / total, sy / total


def in_ring(x: float, y: float, ring: list[list[float]]) -> bool:
    inside = False
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1]):
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            inside = not inside
    return inside


def contains(geometry: dict, x: float, y: float) -> bool:
    return any(
        in_ring(x, y, rings[0]) and not any(in_ring(x, y, hole) for hole in rings[1:])
        for rings in polygons(geometry)
    )


def read_terc(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8-sig")
    if text.lstrip().startswith("["):
        rows = json.loads(text)
    else:
        rows = list(csv.DictReader(text.splitlines(), delimiter=";"))
    # Copies that went through a spreadsheet hold some codes as numbers (10,
    # not "10"); zero-pad them back to TERC's 2-digit strings.
    for row in rows:
        for key in ("WOJ", "POW", "GMI"):
            value = row.get(key)
            row[key] = "" if value in (None, "") else str(value).zfill(2)
    return rows


def derive(powiaty_path: Path, wojewodztwa_path: Path, terc_path: Path) -> list[tuple[str, str, float, float]]:
    terc = read_terc(terc_path)
    # Voivodeship names are upper case in TERC, lower case in the geojson.
    woj_code = {r["NAZWA"].lower(): r["WOJ"] for r in terc if r["WOJ"] and not r["POW"]}
    powiats = {
        r["WOJ"] + r["POW"]: r["NAZWA"]
        for r in terc
        if r["POW"] and not r["GMI"] and "powiat" in r["NAZWA_DOD"]
    }
    by_name: dict[str, list[str]] = {}
    for code, name in powiats.items():
        by_name.setdefault(name, []).append(code)

    voivodeships = json.loads(wojewodztwa_path.read_text(encoding="utf-8"))["features"]
    voivodeships = [(woj_code[f["properties"]["nazwa"].lower()], f["geometry"]) for f in voivodeships]

    rows: dict[str, tuple[str, str, float, float]] = {}
    problems = []
    for feature in json.loads(powiaty_path.read_text(encoding="utf-8"))["features"]:
        label = feature["properties"]["nazwa"]
        name = label.removeprefix("powiat ")
        name = RENAMED.get(name, name)
        lon, lat = area_centroid(feature["geometry"])
        candidates = by_name.get(name, [])
        if len(candidates) > 1:
            wojs = [woj for woj, geometry in voivodeships if contains(geometry, lon, lat)]
            candidates = [code for code in candidates if code[:2] in wojs]
        if len(candidates) != 1:
            problems.append(f"{label}: {len(candidates)} TERC candidates")
            continue
        code = candidates[0]
        if code in rows:
            problems.append(f"{label}: code {code} already taken by another polygon")
            continue
        if not (LAT_RANGE[0] <= lat <= LAT_RANGE[1] and LON_RANGE[0] <= lon <= LON_RANGE[1]):
            problems.append(f"{label}: centroid {lat:.4f},{lon:.4f} outside Poland")
        rows[code] = (code, powiats[code], round(lat, 4), round(lon, 4))
    problems += [f"TERC {code} {powiats[code]}: no polygon" for code in sorted(set(powiats) - set(rows))]
    if problems:
        raise SystemExit("\n".join(problems))
    return [rows[code] for code in sorted(rows)]


def main(argv: list[str]) -> None:
    if len(argv) not in (4, 5):
        raise SystemExit(__doc__)
    powiaty, wojewodztwa, terc = map(Path, argv[1:4])
    out = Path(argv[4]) if len(argv) == 5 else Path(__file__).resolve().parent / "teryt_centroids.csv"
    rows = derive(powiaty, wojewodztwa, terc)
    stan_na = sorted({r.get("STAN_NA", "") for r in read_terc(terc)} - {""})
    with out.open("w", encoding="utf-8", newline="") as handle:
        handle.write(
            "# Powiat area centroids (WGS84), one per TERYT powiat code; derived by agencies/directory/derive_centroids.py.\n"
            "# Polygons: powiaty-min.geojson + wojewodztwa-min.geojson of github.com/ppatrzyk/polska-geojson (MIT),\n"
            "#   simplified from GUGiK's Państwowy Rejestr Granic (PRG, free public data).\n"
            f"# Codes and names: GUS TERC register, state {', '.join(stan_na) or 'unknown'} (official public register).\n"
            "# Matched by name (duplicate names by the voivodeship polygon holding the centroid); planar lon/lat\n"
            f"#   area centroid, holes subtracted, multipolygons area-weighted. Generated {datetime.date.today().isoformat()}.\n"
        )
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["teryt", "name", "latitude", "longitude"])
        writer.writerows((code, name, f"{lat:.4f}", f"{lon:.4f}") for code, name, lat, lon in rows)
    print(f"wrote {len(rows)} powiats to {out}")


if __name__ == "__main__":
    main(sys.argv)
