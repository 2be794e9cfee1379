"""Find values in clear anywhere in the databases (issue 12): every column of
every table, in every alias (the main database and the key store)."""

from django.db import connections


def _as_bytes(value) -> bytes:
    if isinstance(value, memoryview | bytearray):
        return bytes(value)
    if isinstance(value, bytes):
        return value
    return str(value).encode()


def clear_text_hits(values) -> list[tuple[str, str, str, str]]:
    """(alias, table, column, value) for each of `values` (ASCII strings)
    found inside any stored value, text, JSON or bytes."""
    wanted = [(value, value.encode()) for value in values]
    hits = []
    for alias in connections:
        connection = connections[alias]
        with connection.cursor() as cursor:
            for table in connection.introspection.table_names(cursor):
                columns = [c.name for c in connection.introspection.get_table_description(cursor, table)]
                cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
                for row in cursor.fetchall():
                    for column, stored in zip(columns, row):
                        if stored is None:
                            continue
                        data = _as_bytes(stored)
                        hits += [(alias, table, column, value) for value, raw in wanted if raw in data]
    return hits
