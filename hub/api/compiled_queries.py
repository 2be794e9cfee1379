"""Hot-path queries compiled to SQL once per database connection (issue 11).

Building a query through the ORM (resolving lookups and joins, then compiling
the SQL) costs more per request than running it against a local PostgreSQL:
about a millisecond for the token lookup with its agency, as much again for a
referral with its subject. The queries on every API request have a fixed
shape, so a `CompiledQuery` builds its queryset once per connection, with
marker values for its parameters, and keeps the SQL and the positions of the
parameters in it. Each call then only

- adapts the values as the ORM would (the compared field's own
  `get_db_prep_value`: a UUID stays a UUID on PostgreSQL and becomes hex on
  SQLite, an aware time is adapted for the backend);
- runs the SQL through the connection's cursor, so transactions, query
  logging and `assertNumQueries` see it like any other query;
- turns the rows into what the queryset would have returned: model
  instances with their `select_related` objects and annotations, or tuples
  for `values_list()`, with the ORM's own converters.

A parameter must not change the SQL's shape: it is a scalar compared with a
field, never None (which the ORM turns into IS NULL) and never a list.
Everything else in the queryset (constants, joins, ordering, LIMIT) is
compiled in. Tests compare each compiled query with its ORM evaluation.
"""

import random
import uuid
from datetime import UTC, datetime, timedelta
from weakref import WeakKeyDictionary

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field
from django.db.models.query import ModelIterable, get_related_populators


def _marker(field: Field, connection):
    """A value of the field's type that no constant of a query will equal."""
    kind = getattr(field, "target_field", field).get_internal_type()
    if kind == "UUIDField":
        return uuid.uuid4()
    if kind in ("CharField", "TextField"):
        return f"compiled-query-marker-{uuid.uuid4().hex}"
    if kind == "DateTimeField":
        return datetime(2001, 2, 3, tzinfo=UTC) + timedelta(microseconds=random.getrandbits(48))
    if kind in ("AutoField", "BigAutoField", "IntegerField", "BigIntegerField"):
        # In the column's range: the ORM compiles an out-of-range value to an empty result.
        highest = connection.ops.integer_field_range(kind)[1]
        return random.randint(highest // 2, highest)
    raise TypeError(f"CompiledQuery has no marker for a {kind} parameter")


class _Compiled:
    """The SQL of one CompiledQuery on one connection, and how to read its rows."""

    def __init__(self, query: "CompiledQuery", connection):
        markers = {name: _marker(field, connection) for name, field in query.params.items()}
        queryset = query.build(**markers)
        self.compiler = queryset.query.get_compiler(connection=connection)
        self.sql, params = self.compiler.as_sql()
        self.params = list(params)
        self.slots = self._slots(query.params, markers, connection)
        columns = [column[0] for column in self.compiler.select[: self.compiler.col_count]]
        self.converters = self.compiler.get_converters(columns)
        self.model_rows = queryset._iterable_class is ModelIterable
        if self.model_rows:
            self._prepare_models(connection.alias)

    def _slots(self, fields, markers, connection) -> list[tuple[int, str, Field]]:
        prepared = {name: fields[name].get_db_prep_value(markers[name], connection, prepared=False) for name in fields}
        slots = [
            (index, name, fields[name])
            for index, value in enumerate(self.params)
            for name, marker in prepared.items()
            if type(value) is type(marker) and value == marker
        ]
        missing = set(fields) - {name for _, name, _ in slots}
        if missing:
            raise ValueError(f"CompiledQuery parameters not found in the SQL: {sorted(missing)}")
        return slots

    def _prepare_models(self, alias: str) -> None:
        klass_info, select = self.compiler.klass_info, self.compiler.select
        self.model = klass_info["model"]
        columns = klass_info["select_fields"]
        self.model_slice = slice(columns[0], columns[-1] + 1)
        self.init_list = [column[0].target.attname for column in select[self.model_slice]]
        self.populators = get_related_populators(klass_info, select, alias)
        self.annotations = list(self.compiler.annotation_col_map.items())

    def run(self, connection, values: dict) -> list:
        params = list(self.params)
        for index, name, field in self.slots:
            value = values[name]
            if value is None:
                raise ValueError(f"CompiledQuery parameter {name} is None: the ORM would compile IS NULL")
            params[index] = field.get_db_prep_value(value, connection, prepared=False)
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            fetched = cursor.fetchall()
        if self.compiler.has_extra_select:
            fetched = [row[: self.compiler.col_count] for row in fetched]
        rows = map(tuple, self.compiler.apply_converters(fetched, self.converters)) if self.converters else fetched
        return [self._instance(row, connection.alias) for row in rows] if self.model_rows else list(rows)

    def _instance(self, row, alias: str):
        obj = self.model.from_db(alias, self.init_list, row[self.model_slice])
        for populator in self.populators:
            populator.populate(row, obj)
        for name, position in self.annotations:
            setattr(obj, name, row[position])
        return obj


class CompiledQuery:
    """`build(**params)` returns the queryset; `params` names the model field
    each parameter is compared with (a foreign key compares as its target).

        _REFERRAL = CompiledQuery(
            lambda referral: Referral.objects.select_related("subject").filter(pk=referral)[:1],
            referral=Referral._meta.pk,
        )
        _REFERRAL.fetch(referral=referral_id)  # [Referral] or []
    """

    def __init__(self, build, **params: Field):
        self.build, self.params = build, params
        self._by_connection: WeakKeyDictionary = WeakKeyDictionary()

    def fetch(self, **values) -> list:
        """The rows the queryset built from `values` would return, in one query."""
        if set(values) != set(self.params):
            raise TypeError(f"CompiledQuery expects {sorted(self.params)}, got {sorted(values)}")
        connection = connections[DEFAULT_DB_ALIAS]  # this thread's
        compiled = self._by_connection.get(connection)
        if compiled is None:
            compiled = self._by_connection[connection] = _Compiled(self, connection)
        return compiled.run(connection, values)

    def first(self, **values):
        """The first row, or None."""
        rows = self.fetch(**values)
        return rows[0] if rows else None


# -- Inserts ---------------------------------------------------------------------------

_INSERTS: WeakKeyDictionary = WeakKeyDictionary()  # connection -> {model: (sql, fields, returning)}


def insert(obj) -> None:
    """INSERT one new model instance, as `obj.save(force_insert=True)` would
    write it (each field's pre_save: defaults, auto_now_add), with its SQL
    built once per model and connection: the ORM compiles an INSERT on every
    save, about half a millisecond on each referral and each event (issue
    11). An auto-increment primary key comes back through RETURNING. Sends
    no pre_save/post_save signals: nothing in the hub listens to the models
    inserted this way, and the core flows use none (STYLE.md)."""
    connection = connections[DEFAULT_DB_ALIAS]
    by_model = _INSERTS.setdefault(connection, {})
    model = type(obj)
    if model not in by_model:
        by_model[model] = _insert_sql(model, connection)
    sql, fields, returning = by_model[model]
    values = [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        if returning is not None:
            (value,) = cursor.fetchone()
            setattr(obj, returning.attname, value)
    obj._state.adding, obj._state.db = False, connection.alias


def _insert_sql(model, connection) -> tuple[str, list[Field], Field | None]:
    meta, quote = model._meta, connection.ops.quote_name
    returning = meta.pk if meta.pk.db_returning else None
    fields = [field for field in meta.local_concrete_fields if field is not returning]
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    if returning is not None:
        sql += f" RETURNING {quote(returning.column)}"
    return sql, fields, returning
