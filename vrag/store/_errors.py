"""Store errors live in the one exception tree (``vrag.errors``); re-exported here for the store modules."""

from vrag.errors import IndexDamagedError, IndexLockedError, SchemaMismatchError, StoreError, StoreFullError

__all__ = ["IndexDamagedError", "IndexLockedError", "SchemaMismatchError", "StoreError", "StoreFullError"]
