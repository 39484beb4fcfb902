"""Stand-ins for modules a dependency imports but this process may never use.

DBOS (the version pinned in requirements.lock) imports psycopg, its PostgreSQL driver, whenever
it is imported, even when the job store is the embedded SQLite one: about 10 MiB and 70 ms of
start-up for nothing. `defer("psycopg", "psycopg.errors")` puts stand-ins into sys.modules
that import the real modules the first time one of their attributes is used (a PostgreSQL
error check, say), so nothing breaks if the driver is needed after all.
"""

from __future__ import annotations

import importlib
import sys
import threading
import types
from typing import Any

_lock = threading.Lock()


class DeferredModule(types.ModuleType):
    """Imports the real module on the first use of an attribute it does not have itself."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # introspection (copy, pickle, inspect): no reason to load
            raise AttributeError(name)
        return getattr(load(self.__name__), name)


def defer(*names: str) -> bool:
    """Stand-ins for these modules, parents before their submodules (a submodule's stand-in is
    also its parent's attribute, so `from parent import sub` loads nothing). False, and nothing
    changed, when one of them is imported already."""
    if any(name in sys.modules for name in names):
        return False
    for name in names:
        module = sys.modules[name] = DeferredModule(name)
        parent, _, child = name.rpartition(".")
        if parent in names:
            setattr(sys.modules[parent], child, module)
    return True


def load(name: str) -> types.ModuleType:
    """The real module: every stand-in leaves sys.modules first, so its import runs for real."""
    with _lock:
        if isinstance(sys.modules.get(name), DeferredModule):
            for key in [k for k, m in sys.modules.items() if isinstance(m, DeferredModule)]:
                del sys.modules[key]
        return importlib.import_module(name)
