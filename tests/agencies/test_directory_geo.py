"""The powiat centroids of the service directory (agencies/directory/geo.py)
and the data file they are read from: no database needed."""

import csv

import pytest

from agencies.directory import geo
from agencies.directory.derive_centroids import area_centroid

LAT_RANGE = (49.0, 54.9)
LON_RANGE = (14.1, 24.2)


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with geo.DATA.open(encoding="utf-8") as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("#")))


def test_one_row_per_powiat_with_unique_codes(rows):
    codes = [row["teryt"] for row in rows]
    assert len(codes) == 380
    assert len(set(codes)) == 380
    assert all(len(code) == 4 and code.isdigit() for code in codes)
    # TERC numbers cities with powiat rights from 61 up: 66 of them, the rest land powiats.
    assert sum(int(code[2:]) >= 61 for code in codes) == 66
    assert {code[:2] for code in codes} == {f"{woj:02d}" for woj in range(2, 33, 2)}


def test_every_centroid_is_in_poland(rows):
    for row in rows:
        lat, lon = float(row["latitude"]), float(row["longitude"])
        assert LAT_RANGE[0] <= lat <= LAT_RANGE[1], row
        assert LON_RANGE[0] <= lon <= LON_RANGE[1], row


def test_a_gmina_takes_its_powiats_centroid(rows):
    wroclaw = next(row for row in rows if row["teryt"] == "0264")
    assert wroclaw["name"] == "Wrocław"
    expected = (float(wroclaw["latitude"]), float(wroclaw["longitude"]))
    assert geo.centroid("0264011") == expected
    assert geo.centroid("0264") == expected
    assert geo.centroid("9999999") is None
    assert geo.centroid("") is None


def test_centroids_lie_where_the_cities_are():
    # Within ~0.1 degree of the city centres: a swapped axis or a polygon
    # matched to the wrong code would be far off.
    for code, (lat, lon) in {
        "0264": (51.11, 17.03),  # Wrocław
        "1465": (52.24, 21.0),  # Warszawa
        "1261": (50.06, 19.94),  # Kraków
        "2261": (54.36, 18.6),  # Gdańsk
    }.items():
        got = geo.centroid(code)
        assert abs(got[0] - lat) < 0.1 and abs(got[1] - lon) < 0.1, (code, got)


def test_duplicate_names_went_to_their_own_voivodeships():
    # powiat bielski: Podlaskie (20) around Bielsk Podlaski, Śląskie (24) around Bielsko-Biała.
    assert geo.distance_km(geo.centroid("2003"), (52.77, 23.19)) < 30
    assert geo.distance_km(geo.centroid("2402"), (49.82, 19.04)) < 30


def test_distances_between_cities():
    assert 290 < geo.distance_km(geo.centroid("0264"), geo.centroid("1465")) < 320
    assert 450 < geo.distance_km(geo.centroid("1261"), geo.centroid("2261")) < 500
    assert geo.distance_km(geo.centroid("1465"), geo.centroid("1465")) == 0


def test_area_centroid_subtracts_holes_and_weights_parts():
    square = [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]]
    hole = [[0, 0], [0, 2], [2, 2], [2, 0], [0, 0]]  # the lower-left quarter, wound the other way
    assert area_centroid({"type": "Polygon", "coordinates": [square]}) == pytest.approx((2, 2))
    # Three quarters left: the centroid moves away from the hole, to (7/3, 7/3).
    assert area_centroid({"type": "Polygon", "coordinates": [square, hole]}) == pytest.approx((7 / 3, 7 / 3))
    small = [[10, 0], [12, 0], [12, 2], [10, 2], [10, 0]]  # area 4 against 16
    got = area_centroid({"type": "MultiPolygon", "coordinates": [[square], [small]]})
    assert got == pytest.approx(((16 * 2 + 4 * 11) / 20, (16 * 2 + 4 * 1) / 20))
