"""Database helpers shared by the apps."""

import queue
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import TypeVar

import psycopg
import psycopg.errors
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections, models
from django.db.backends.utils import CursorDebugWrapper
from django.db.models.expressions import RawSQL

T = TypeVar("T")


def bulk_insert(model: type[models.Model], objects: Iterable[models.Model], batch_size: int = 5000) -> int:
    """Insert new rows fast: COPY on PostgreSQL, bulk_create elsewhere. No signals, no returned ids.

    Django's bulk_create on PostgreSQL quotes every value client-side; COPY streams them, several
    times faster for the 100k-row imports the platform does. Returns the number of rows written.
    """
    objects = list(objects)
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objects, batch_size=batch_size)
        return len(objects)
    fields = [f for f in model._meta.concrete_fields if not (f.primary_key and isinstance(f, models.AutoField))]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for obj in objects:
            copy.write_row([f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields])
    return len(objects)


class _PreparingCursor(psycopg.Cursor):
    """A server-binding psycopg cursor that prepares every statement it runs on the server."""

    def execute(self, query, params=None, *, prepare=None, binary=None):  # noqa: ANN001, ANN201
        return super().execute(query, params, prepare=True, binary=binary)


class _PreparedDebugWrapper(CursorDebugWrapper):
    """Django's logging cursor wrapper; a prepared execution leaves psycopg no query text to
    report, so the statement is logged with its values bound client-side (only when logging)."""

    def execute(self, sql, params=None):  # noqa: ANN001, ANN201
        with self.debug_sql(self.db.ops.compose_sql(sql, params)):
            return super(CursorDebugWrapper, self).execute(sql, params)


def fetch_prepared(sql: str, params: Mapping[str, object]) -> list[tuple]:
    """Run one hot statement that returns rows and return them; on PostgreSQL as a server-side
    prepared statement.

    Django binds parameters client-side, so the server parses and plans every call anew; for the
    claim statement planning took longer than running it. Prepared, each connection plans a
    statement once (settings.py keeps psycopg's preparing on; with `prepare_threshold` None in
    the database OPTIONS, e.g. behind an old PgBouncer, this is a plain execute). The psycopg
    cursor is wrapped by the connection like any Django cursor, so `connection.execute_wrapper`,
    `CaptureQueriesContext`, debug logging and APM hooks see the statement; errors come out as
    Django's (IntegrityError, ...), and it joins the connection's current transaction.
    Elsewhere it is a plain execute.
    """
    db = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: each access through the proxy is a lookup
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    if db.connection is None:
        db.ensure_connection()
    db.validate_thread_sharing()
    for attempt in range(3):
        raw = _PreparingCursor(db.connection)
        try:
            with _PreparedDebugWrapper(raw, db) if db.queries_logged else db.make_cursor(raw) as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()
        except OperationalError as exc:
            # PostgreSQL broke a deadlock by failing this statement: outside a transaction nothing
            # of it was applied, so it can simply run again (inside one, the caller must retry).
            if attempt == 2 or db.in_atomic_block or not isinstance(exc.__cause__, psycopg.errors.DeadlockDetected):
                raise
    raise AssertionError("unreachable")


def among(model: type[models.Model], field: str, values: list) -> models.Q | RawSQL:
    """A filter "`field` is one of `values`" that stays cheap for thousands of values.

    On PostgreSQL it is `column = ANY(%s::type[])` with the values as one array literal: an
    index lookup the planner reliably picks, and one string for the client to bind instead of
    thousands of parameters (psycopg's client-side binding of long IN lists, and even of list
    parameters, costs more than the query). Elsewhere, `__in`.
    """
    if connection.vendor != "postgresql":
        return models.Q(**{f"{field}__in": values})
    model_field = model._meta.get_field(field)
    target = model_field.target_field if model_field.is_relation else model_field
    column = f"{connection.ops.quote_name(model._meta.db_table)}.{connection.ops.quote_name(model_field.column)}"
    literal = "{" + ",".join('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"
    return RawSQL(f"{column} = ANY(%s::{target.db_type(connection)}[])", (literal,),
                  output_field=models.BooleanField())


def read_ahead(items: Iterable[T], depth: int = 1) -> Iterator[T]:
    """Iterate `items` in a background thread, up to `depth` items ahead of the caller.

    For a stream of database reads followed by work on each (an export): the next read runs
    on the thread's own connection while the caller works on the current item, so the two
    overlap instead of taking turns. Inside a transaction this is a plain loop, since another
    connection would not see the transaction's uncommitted rows. An error in the thread is
    raised in the caller; stopping early stops the thread.
    """
    if connection.in_atomic_block:
        yield from items
        return
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def put(entry: tuple) -> None:
        while not stop.is_set():
            try:
                ready.put(entry, timeout=0.1)
                return
            except queue.Full:
                continue

    def produce() -> None:
        try:
            for item in items:
                put((True, item))
                if stop.is_set():
                    return
            put((True, end))
        except BaseException as exc:  # handed to the caller, who raises it
            put((False, exc))
        finally:
            connections.close_all()  # this thread's connections only

    thread = threading.Thread(target=produce, name="read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            ok, item = ready.get()
            if not ok:
                raise item
            if item is end:
                return
            yield item
    finally:
        stop.set()
        thread.join()
