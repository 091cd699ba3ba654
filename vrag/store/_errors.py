"""Store errors live in the one exception tree (``vrag.errors``); re-exported here for the store modules."""

from vrag.errors import IndexLockedError, SchemaMismatchError, StoreError

__all__ = ["IndexLockedError", "SchemaMismatchError", "StoreError"]
