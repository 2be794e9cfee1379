"""canonical_bytes takes orjson's fast path only where its bytes are RFC 8785's."""

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from consent_ledger.merkle import canonical_bytes

SAFE = 2**53 - 1
scalars = st.none() | st.booleans() | st.integers(-SAFE, SAFE) | st.text()
documents = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@given(documents)
def test_the_bytes_are_rfc_8785s_for_any_json_without_floats(document):
    assert canonical_bytes(document) == rfc8785.dumps(document)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_are_spelt_as_rfc_8785_spells_them(number):
    assert canonical_bytes({"n": number}) == rfc8785.dumps({"n": number})


def test_keys_beyond_the_basic_plane_sort_by_utf16_units():
    # U+1F600 is a surrogate pair in UTF-16 (0xD83D...), below U+E000; by code point it is above.
    document = {"\U0001f600": 1, "\ue000": 2}

    assert canonical_bytes(document) == rfc8785.dumps(document)
    assert canonical_bytes(document).index("\U0001f600".encode()) < canonical_bytes(document).index("\ue000".encode())


@pytest.mark.parametrize("number", [SAFE + 1, -SAFE - 1])
def test_integers_beyond_the_safe_range_are_refused_as_rfc_8785_refuses_them(number):
    with pytest.raises(rfc8785.IntegerDomainError):
        canonical_bytes({"n": number})
