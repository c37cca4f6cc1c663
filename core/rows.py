"""Model instances from a query written once per process, for the few reads on every request.

Building a query with the ORM costs more CPU than PostgreSQL spends answering it: on the autosave,
compiling the token-and-user join was half of the request's CPU (py-spy, issue 18). `RowBuilder` gives
the column list of a model and turns a fetched row into the instance the ORM would give (the backend's
converters, then the field's, then `Model.from_db`), so a hot read can be plain SQL without drifting
from the model."""

from django.db import connection


class RowBuilder:
    def __init__(self, model):
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [f.attname for f in self.fields]
        table = model._meta.db_table
        self.cols = [f.get_col(table) for f in self.fields]
        self.table = connection.ops.quote_name(table)
        # What the ORM applies to each column: the backend's (e.g. SQLite's datetimes), then the field's.
        self.converters = [
            (i, connection.ops.get_db_converters(col) + field.get_db_converters(connection))
            for i, (field, col) in enumerate(zip(self.fields, self.cols, strict=True))
        ]
        self.converters = [(i, c) for i, c in self.converters if c]

    def __len__(self) -> int:
        return len(self.fields)

    def columns(self, alias: str) -> str:
        return ", ".join(f"{alias}.{connection.ops.quote_name(f.column)}" for f in self.fields)

    def build(self, values):
        values = list(values)
        for i, converters in self.converters:
            for converter in converters:
                values[i] = converter(values[i], self.cols[i], connection)
        return self.model.from_db(connection.alias, self.attnames, values)
