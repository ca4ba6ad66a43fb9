"""Composition by identity: a value another notebook's lock pins, imported.

``%lock use ../train/train.lock.json model`` (inside a ``%%lock`` cell)
finds, in the training lock, the last current locked cell that wrote
``model``, takes the object its cache entry holds (the training cell must run
under ``%%lock --cache``, which pins its values in the store), checks that
the object hashes to what the training lock recorded for ``model``, and
binds it. The importing lock gets an ``@import_…`` node whose identity
covers the source lock's identity, the node the value came from (the fit
that produced it, else its cell) and the value's content; a copy of the
object goes to the importing lock's own store (the node's ``snapshot``), so
packs, checks and garbage collection keep it like any pinned object.

If training runs again and its model changes, the import's identity changes,
and everything downstream of it: ``notelock diff`` names the import as the
root cause. A pack can be the source too: it is unpacked (verified) once
into ``.notelock/imports/<pack id>/`` beside the importing lock.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import cache
from .errors import NotFoundError, StoreError, UsageError
from .hashing import hash_value
from .lockfile import load_lock
from .store import DEFAULT_STORE_DIR, short, store_for
from .unpack import is_pack, unpack, verify_pack

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class Imported:
    """A value found in another lock, verified, with the node that records it."""

    value: Any
    data: bytes
    format: str
    fields: dict[str, Any]
    facts: dict[str, Any]

    def line(self) -> str:
        """What the magic prints."""
        return (f"notelock: {self.facts['name']} ← {self.facts['lock']} {self.fields['node']} "
                f"(content {short(self.fields['content'])}, verified)")


def _source_lock(spec: str, base: Path) -> Path:
    path = Path(spec).expanduser()
    path = path if path.is_absolute() else base / path
    if path.suffix == ".ipynb":
        path = path.with_name(path.stem + ".lock.json")
    if path.is_file() and is_pack(path):
        manifest, pack_id = verify_pack(path)
        target = base / DEFAULT_STORE_DIR / "imports" / pack_id[9:25]
        lock = target / manifest["lock"]
        if not lock.is_file():
            unpack(path, target)
        return lock
    return path


def find_import(spec: str, name: str, base: str | os.PathLike[str]) -> Imported:
    """The value *name* as the lock (or pack) *spec* pins it, verified; see the module docstring.

    Raises :class:`NotFoundError` when the lock has no locked cell writing
    *name*, :class:`StoreError` when its object is not in the source's store
    (or no longer hashes to what was recorded).
    """
    if not _NAME.match(name):
        raise UsageError(f"%lock use: {name!r} is not a variable name")
    base = Path(base)
    path = _source_lock(spec, base)
    given = Path(spec).expanduser()
    given = given if given.is_absolute() else base / given
    lock = load_lock(path)
    cells = [c for c in lock.get("cells", []) if c.get("locked") and c.get("node") and not c.get("error")
             and "superseded_by" not in c and name in (lock["nodes"][c["node"]].get("writes") or {})]
    if not cells:
        raise NotFoundError(f"{path.name}: no locked cell of it wrote {name!r}")
    cell = cells[-1]
    node = lock["nodes"][cell["node"]]
    content = node["writes"][name]
    store = store_for(path)
    found = None
    for _entry, entry in store.entries_for(node.get("key") or node["identity"]):
        var = (entry.get("variables") or {}).get(name)
        if isinstance(var, dict) and isinstance(var.get("object"), str):
            found = var
            break
    if found is None:
        raise StoreError(f"{path.name}: {name} is not pinned in its store {store.root} (run its cell with "
                         "%%lock --cache, which keeps the values it wrote; a pack needs notelock pack --with-cache)")
    data = store.get_bytes(found["object"])  # verified against its name
    value = cache.load_value(data, str(found.get("format", "pickle")))
    if hash_value(value).digest != content:
        raise StoreError(f"{path.name}: the stored {name} does not hash to what the lock recorded "
                         f"({short(content)}); refusing to use it")
    origin = next((nid for nid in cell.get("nodes", []) if lock["nodes"][nid].get("output") == content),
                  cell["node"])
    try:  # the lock (or the pack) as it was named, relative to the importing notebook
        shown = os.path.relpath(given if is_pack(given) else path, base)
    except ValueError:
        shown = str(path)
    fields = {"source": lock["identity"], "node": origin, "content": content}
    facts = {"lock": Path(shown).as_posix(), "name": name, "output": content, "snapshot_format": found.get("format")}
    return Imported(value=value, data=data, format=str(found.get("format")), fields=fields, facts=facts)


def imports_of(lock: dict[str, Any]) -> list[dict[str, Any]]:
    """The import nodes of a lock (for replay's up-front check)."""
    return [n for n in lock.get("nodes", {}).values() if isinstance(n, dict) and n.get("op") == "import"]


def check_imports(lock: dict[str, Any], folder: str | os.PathLike[str]) -> None:
    """Refuse, before anything runs, a lock whose imports cannot be resolved now."""
    for node in imports_of(lock):
        spec, name = node.get("lock"), node.get("name")
        if not isinstance(spec, str) or not isinstance(name, str):
            continue
        try:
            find_import(spec, name, folder)
        except (NotFoundError, StoreError) as err:
            raise StoreError(f"cannot replay the import of {name} from {spec}: {err}") from None


__all__ = ["find_import", "Imported", "check_imports", "imports_of"]
