"""canonical_bytes takes orjson's fast path only where its bytes are RFC 8785's."""

import uuid
from datetime import UTC, datetime

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from consent_ledger.ledger import entry_columns
from consent_ledger.merkle import _plain, canonical_bytes
from consent_ledger.models import EntryKind, LedgerEntry

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


@pytest.mark.parametrize("kind", list(EntryKind))
def test_an_entrys_content_takes_the_fast_path_with_rfc_8785s_bytes(kind):
    # A kind arrives as its enum member (a str subclass): the columns spell it
    # as the plain code, so every append is serialised by orjson, not rfc8785.
    entry = LedgerEntry(
        id=uuid.uuid4(), kind=kind, subject_id=uuid.uuid4(), recorded_by_id=uuid.uuid4(), actor="client:abc",
        recorded_at=datetime(2026, 11, 30, 12, 0, tzinfo=UTC),
    )
    content = {**entry_columns(entry), "body": {"categories": ["identity"], "count": 2}}
    assert _plain(content)
    assert canonical_bytes(content) == rfc8785.dumps(content)
