"""ReviewScope storage: SQLAlchemy models, migrations, repository functions, importers.

No torch and no Qt here.
"""
from .db import Database, default_db_url, open_database, user_data_dir
from .errors import CatalogueError, ConflictError, NotFoundError, SchemaTooNewError, StorageError
from .records import FLAG_KINDS, SUBSCORE_NAMES, label_from_votes

__all__ = [
    "Database", "open_database", "default_db_url", "user_data_dir",
    "StorageError", "SchemaTooNewError", "ConflictError", "NotFoundError", "CatalogueError",
    "FLAG_KINDS", "SUBSCORE_NAMES", "label_from_votes",
]
