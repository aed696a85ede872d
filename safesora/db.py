"""Database helpers shared by the apps."""

from collections.abc import Iterable

from django.db import connection, models
from django.db.models.expressions import RawSQL


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
