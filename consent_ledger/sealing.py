"""Person data at rest, sealed per subject (issue 12, items 1-2).

Every column that holds a person's data (a profile, a referral's payload and
notes, case updates, plan notes, placement notes, Blue Card forms) is a
SealedField: AES-256-GCM under the subject's own data key, with the subject
and the column as associated data, so a ciphertext moved to another subject's
row or another column does not open. The data key is wrapped by a
key-encryption key (KEK) from the settings, and each wrapped key names the KEK
that wrapped it, so KEKs rotate (`manage.py rewrap_subject_keys`).

Wrapped data keys live in a key store apart from the data: the `keys`
database alias when one is configured (KEYS_DATABASE_URL; the demo keeps a
second SQLite file). Erasure deletes the subject's key there: every
ciphertext of that person, in the database and in every backup of it, is from
then on noise. That is why the store must not share the main database's
backups (see the deploy check consent_ledger.W001).

A sealed column reads back as an opaque `Sealed`: it prints as "<sealed>",
serialises to nothing, and opens only in the disclosure choke point
(consent_ledger.disclosure) or in a service that needs the clear value to do
its work (e.g. which categories a profile holds), never to show it.
"""

import json
import os
import threading
import time
import uuid
from collections import OrderedDict

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, models, router, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hub.api.errors import Gone

VERSION = b"\x01"
_NONCE = 12


SUBJECT_ERASED = "subject_erased"


class SubjectErased(Gone):
    """The subject was erased (their data key is gone): nothing of their data
    can be opened again."""

    code = SUBJECT_ERASED

    def __init__(self, subject_id):
        super().__init__(_("This person's data was erased; only metadata remains."), subject=str(subject_id))


class Sealed:
    """A sealed value as read from the database: opaque until opened."""

    __slots__ = ("ciphertext", "label")

    def __init__(self, ciphertext: bytes, label: str):
        self.ciphertext, self.label = ciphertext, label

    @property
    def subject_id(self) -> uuid.UUID:
        return uuid.UUID(bytes=self.ciphertext[1:17])

    def __repr__(self) -> str:
        return "<sealed>"

    __str__ = __repr__

    def __eq__(self, other) -> bool:
        return isinstance(other, Sealed) and other.ciphertext == self.ciphertext

    __hash__ = None


# --- Key-encryption keys ---------------------------------------------------------------


def _keks() -> dict[str, bytes]:
    return settings.SEALING_KEKS  # checked at start (consent_ledger.checks.sealing_settings)


def current_kek_id() -> str:
    return settings.SEALING_CURRENT_KEK


def wrap(subject_id: uuid.UUID, data_key: bytes, kek_id: str | None = None) -> tuple[str, bytes]:
    kek_id = kek_id or current_kek_id()
    nonce = os.urandom(_NONCE)
    return kek_id, nonce + AESGCM(_keks()[kek_id]).encrypt(nonce, data_key, _kek_aad(subject_id, kek_id))


def unwrap(subject_id: uuid.UUID, kek_id: str, wrapped: bytes) -> bytes:
    try:
        kek = _keks()[kek_id]
    except KeyError:
        raise ImproperlyConfigured(f"The key-encryption key {kek_id!r} is not in SEALING_KEKS.") from None
    return AESGCM(kek).decrypt(wrapped[:_NONCE], wrapped[_NONCE:], _kek_aad(subject_id, kek_id))


def _kek_aad(subject_id: uuid.UUID, kek_id: str) -> bytes:
    return subject_id.bytes + kek_id.encode()


# --- The key store ---------------------------------------------------------------------


class _KeyCache:
    """Unwrapped data keys of recent subjects, per process, for a minute: a
    read then costs no round trip to the key store. Erasure evicts here; in
    other processes the choke point refuses an erased subject by its row
    (Subject.erased_at) before any key is used."""

    def __init__(self, size=4096, ttl=60.0):
        self.size, self.ttl = size, ttl
        self._keys: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, subject_id):
        with self._lock:
            found = self._keys.get(subject_id)
            if found is None or found[1] < time.monotonic():
                self._keys.pop(subject_id, None)
                return None
            return found[0]

    def put(self, subject_id, key):
        with self._lock:
            self._keys[subject_id] = (key, time.monotonic() + self.ttl)
            self._keys.move_to_end(subject_id)
            while len(self._keys) > self.size:
                self._keys.popitem(last=False)

    def evict(self, subject_id):
        with self._lock:
            self._keys.pop(subject_id, None)

    def clear(self):
        with self._lock:
            self._keys.clear()


key_cache = _KeyCache()


def _store():
    from .models import SubjectKey

    return SubjectKey.objects.using(router.db_for_write(SubjectKey))


def data_key(subject_id: uuid.UUID, *, create: bool = False) -> bytes:
    """The subject's data key; a new one when `create` and there is none.
    Raises SubjectErased when the subject has no key and may not get one."""
    key = key_cache.get(subject_id)
    if key is not None:
        return key
    row = _store().filter(subject_id=subject_id).values_list("kek_id", "wrapped").first()
    if row is None:
        if not create:
            raise SubjectErased(subject_id)
        return _create_key(subject_id)
    key = unwrap(subject_id, row[0], bytes(row[1]))
    key_cache.put(subject_id, key)
    return key


def _create_key(subject_id: uuid.UUID) -> bytes:
    from .models import ErasedSubject

    # An erased subject never gets a key again: a late write (a retry, a
    # queued task) must not make a new, readable copy of their data.
    if ErasedSubject.objects.using(router.db_for_write(ErasedSubject)).filter(subject_id=subject_id).exists():
        raise SubjectErased(subject_id)
    key = AESGCM.generate_key(bit_length=256)
    kek_id, wrapped = wrap(subject_id, key)
    store = _store()
    try:
        # Its own transaction on the key store: a key outlives a rolled-back
        # write harmlessly (nothing was sealed with it), and two writers
        # racing for the first key of one subject keep the first.
        with transaction.atomic(using=store.db):
            store.create(subject_id=subject_id, kek_id=kek_id, wrapped=wrapped, created_at=timezone.now())
    except IntegrityError:
        return data_key(subject_id)
    key_cache.put(subject_id, key)
    return key


def destroy_key(subject_id: uuid.UUID) -> bool:
    """Delete the subject's data key and remember that it was erased (in the
    key store, so a restored main database cannot mint a new key for the
    subject). True when there was a key to delete."""
    from .models import ErasedSubject

    store = _store()
    with transaction.atomic(using=store.db):
        deleted, _ = store.filter(subject_id=subject_id).delete()
        ErasedSubject.objects.using(store.db).get_or_create(subject_id=subject_id, defaults={"erased_at": timezone.now()})
    key_cache.evict(subject_id)
    return bool(deleted)


def subject_keys_rewrap(*, batch_size: int = 1000) -> dict[str, int]:
    """Re-wrap every data key not under the current KEK with it (a KEK
    rotation); the data keys, and so every ciphertext, stay as they are.
    Returns how many keys moved off each old KEK. Safe to re-run."""
    current, moved = current_kek_id(), {}
    store = _store()
    while True:
        batch = list(store.exclude(kek_id=current).order_by("subject_id")[:batch_size])
        if not batch:
            return moved
        with transaction.atomic(using=store.db):
            for row in batch:
                key = unwrap(row.subject_id, row.kek_id, bytes(row.wrapped))
                moved[row.kek_id] = moved.get(row.kek_id, 0) + 1
                row.kek_id, row.wrapped = wrap(row.subject_id, key, current)
                row.save(update_fields=["kek_id", "wrapped"])


# --- Sealing and opening -----------------------------------------------------------------


def seal(subject_id: uuid.UUID, label: str, plaintext: bytes) -> Sealed:
    header = VERSION + subject_id.bytes
    nonce = os.urandom(_NONCE)
    body = AESGCM(data_key(subject_id, create=True)).encrypt(nonce, plaintext, header + label.encode())
    return Sealed(header + nonce + body, label)


def open_bytes(sealed: Sealed) -> bytes:
    header, nonce, body = sealed.ciphertext[:17], sealed.ciphertext[17:29], sealed.ciphertext[29:]
    if header[:1] != VERSION:
        raise ValueError("unknown sealed format")
    try:
        return AESGCM(data_key(sealed.subject_id)).decrypt(nonce, body, header + sealed.label.encode())
    except InvalidTag:
        raise ValueError(f"a sealed {sealed.label} does not open: moved from another row or tampered with") from None


def unsealed(value):
    """`value` with every Sealed in it opened (dicts and lists walked)."""
    if isinstance(value, Sealed):
        return _decode(value)
    if isinstance(value, dict):
        return {k: unsealed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unsealed(v) for v in value]
    return value


def _decode(sealed: Sealed):
    kind, data = open_bytes(sealed).split(b":", 1)
    return data.decode() if kind == b"t" else json.loads(data)


def _encode(value) -> bytes:
    if isinstance(value, str):
        return b"t:" + value.encode()
    return b"j:" + json.dumps(value, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


class SealedField(models.BinaryField):
    """A column of person data, sealed under its subject's key at save.

    `subject` names the attribute path from the row to the subject's id
    ("subject_id", "referral.subject_id"; "id" on Subject itself). The value
    on a new instance is the clear JSON value or string; what the database
    returns is a Sealed. None, and "" in a text column (default=""), are
    stored as NULL and read back as themselves. Writes that bypass save()
    (QuerySet.update, bulk_update) are refused: they would store clear text.
    """

    def __init__(self, *args, subject: str = "subject_id", **kwargs):
        self.subject_path = subject
        kwargs.setdefault("editable", False)
        # NULL: no value, "" in a text column, or content erased at the end of
        # its retention period (referrals/retention.py).
        kwargs["null"] = True
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["subject"] = self.subject_path
        kwargs.pop("editable", None)
        return name, path, args, kwargs

    def _check_str_default_value(self):
        return []  # a text column's default is its clear value, "", sealed at save

    @property
    def label(self) -> str:
        return f"{self.model._meta.label_lower}.{self.name}"

    def pre_save(self, model_instance, add):
        value = getattr(model_instance, self.attname)
        if value is None or value == "" or isinstance(value, Sealed):
            return value or None
        subject_id = model_instance
        for part in self.subject_path.split("."):
            subject_id = getattr(subject_id, part)
        return seal(subject_id, self.label, _encode(value))

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is None or value == "":
            return None
        if not isinstance(value, Sealed):
            raise TypeError(f"{self.label} is sealed at save(); QuerySet.update() would store it in clear")
        return connection.Database.Binary(value.ciphertext)

    def from_db_value(self, value, expression, connection):
        if value is None:
            return "" if self.default == "" else None
        return Sealed(bytes(value), self.label)

    def to_python(self, value):
        return value

    def value_to_string(self, obj):
        return "<sealed>"
