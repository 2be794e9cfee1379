"""The key store's database (consent_ledger/sealing.py): subjects' wrapped data
keys and the list of erased subjects live in the `keys` alias when one is
configured (settings.KEY_STORE_DATABASE), and nothing else does."""

from django.conf import settings

KEY_STORE_MODELS = {"subjectkey", "erasedsubject"}


def _is_key_store(app_label: str, model_name: str | None) -> bool:
    return app_label == "consent_ledger" and model_name in KEY_STORE_MODELS


class KeyStoreRouter:
    def _route(self, model, **hints):
        if _is_key_store(model._meta.app_label, model._meta.model_name):
            return settings.KEY_STORE_DATABASE
        return None

    db_for_read = db_for_write = _route

    def allow_relation(self, obj1, obj2, **hints):
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        store = settings.KEY_STORE_DATABASE
        if store == "default":
            return None
        return (db == store) == _is_key_store(app_label, model_name)
