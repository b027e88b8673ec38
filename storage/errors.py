"""Errors that storage raises with a message meant for the user."""
from __future__ import annotations


class StorageError(Exception):
    """Base class: the message is shown to the user as is."""


class SchemaTooNewError(StorageError):
    """The database was written by a newer ReviewScope."""


class ConflictError(StorageError):
    """Someone else changed the same record first (optimistic concurrency)."""


class NotFoundError(StorageError):
    """A record asked for does not exist."""


class ImportError_(StorageError):
    """A catalogue could not be imported; names the file, line and field."""

    def __init__(self, path, line: int | None, field: str | None, message: str):
        self.path = str(path)
        self.line = line
        self.field = field
        self.reason = message
        where = self.path
        if line is not None:
            where += f", line {line}"
        if field:
            where += f", field '{field}'"
        super().__init__(f"{where}: {message}")


CatalogueError = ImportError_
