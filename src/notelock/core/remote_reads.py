"""Reads of remote objects (``pd.read_csv("s3://…")``), identified by version and content.

A reader given an fsspec URL (``s3://``, ``gs://``, ``az://``, ``memory://``…;
not ``http(s)://``, which pandas fetches itself) is described by:

* ``url``: the URL with any credential removed;
* ``remote``: the object's version identity as the store reports it (S3's
  ``VersionId`` and ``ETag``, the size, the last-modified time; a GCS
  ``generation``), and ``hash_s``, the seconds the content hash took;
* ``content``: the xxh3-128 hash of the object's bytes, computed by one
  streaming pass over the version the identity names (the reader's own
  pass cannot be shared without changing how pandas opens the URL, and
  notelock never changes how a user's call runs).

A prefix (a partitioned Parquet dataset) is recorded per file, sorted by key,
so its identity does not depend on the order the store lists it in.

Credentials come from ``storage_options`` (as the reader got them) or from
where the storage library looks; none is ever recorded.
"""

from __future__ import annotations

import time
from typing import Any

import xxhash

from .hashing import PREFIX, hash_json
from .secrets import redact_url

_PIECE = 8 << 20
#: schemes pandas reads without fsspec, or that would cost a second download of a web page
_NOT_FSSPEC = ("http", "https", "ftp", "file")
#: fields of a listing that identify an object's version, by store
_VERSION_FIELDS = {"VersionId": "version_id", "version_id": "version_id", "generation": "version_id",
                   "ETag": "etag", "etag": "etag", "md5Hash": "md5",
                   "LastModified": "last_modified", "last_modified": "last_modified", "updated": "last_modified",
                   "mtime": "last_modified"}


def is_remote_url(text: str) -> bool:
    """Whether *text* is a URL a remote read description applies to."""
    scheme, sep, _ = text.partition("://")
    return bool(sep) and scheme.lower() not in _NOT_FSSPEC


def describe_url(url: str, storage_options: Any = None) -> dict[str, Any]:
    """``url``, ``remote`` and ``content`` of a remote read (just ``url`` when the
    object cannot be reached: the reader will say why, in its own words)."""
    out: dict[str, Any] = {"url": redact_url(url)}
    if not is_remote_url(url):
        return out
    try:
        fs, path = _filesystem(url, storage_options)
        start = time.perf_counter()
        fs.invalidate_cache(path)  # another writer may have replaced it since we last looked
        info = fs.info(path)
        if info.get("type") == "directory":
            files = []
            found = fs.find(path, detail=True)
            for key, item in sorted(found.items()):
                rel = key[len(path.rstrip("/")):].lstrip("/")
                if rel.rsplit("/", 1)[-1].startswith(("_", ".")):
                    continue  # _SUCCESS, _delta_log, .crc: not data a reader returns
                if "VersionId" not in item and "ETag" in item:  # S3 listings omit versions: ask for them
                    fs.invalidate_cache(key)
                    item = fs.info(key)
                files.append({"key": rel, **version_of(item), "content": _hash_object(fs, key, item)})
            out["remote"] = {"files": files}
            out["content"] = hash_json([[f["key"], f["content"]] for f in files])
        else:
            out["remote"] = version_of(info)
            out["content"] = _hash_object(fs, path, info)
        out["remote"]["hash_s"] = round(time.perf_counter() - start, 6)
    except Exception:  # noqa: BLE001 - unreachable or no credentials: the read itself will fail or not
        return {"url": out["url"]}
    return out


def version_of(info: dict[str, Any]) -> dict[str, Any]:
    """The version identity of one object from its listing entry."""
    out: dict[str, Any] = {"size": int(info.get("size") or 0)}
    for key, name in _VERSION_FIELDS.items():
        value = info.get(key)
        if value is None or name in out:
            continue
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        out[name] = str(value).strip('"') if name == "etag" else (value if isinstance(value, (int, float)) else str(value))
    return out


def _hash_object(fs: Any, path: str, info: dict[str, Any]) -> str:
    h = xxhash.xxh3_128()
    version = info.get("VersionId")
    kwargs = {"version_id": version} if version and getattr(fs, "version_aware", False) else {}
    with fs.open(path, "rb", block_size=_PIECE, **kwargs) as fh:
        while piece := fh.read(_PIECE):
            h.update(piece)
    return PREFIX + h.hexdigest()


def _filesystem(url: str, storage_options: Any) -> tuple[Any, str]:
    import fsspec

    options = dict(storage_options) if isinstance(storage_options, dict) else {}
    fs, path = fsspec.core.url_to_fs(url, **options)
    return fs, str(path)


def pinned_source(url: str, recorded: dict[str, Any], storage_options: Any) -> tuple[str, dict[str, Any]] | None:
    """The URL and storage options that read the version *recorded* names
    (S3 with versioning: ``?versionId=…`` through a version-aware s3fs), or
    None when the store keeps no versions."""
    version = recorded.get("version_id")
    if not version or not url.startswith(("s3://", "s3a://")) or "?" in url:
        return None
    options = dict(storage_options) if isinstance(storage_options, dict) else {}
    options["version_aware"] = True
    return f"{url}?versionId={version}", options


__all__ = ["describe_url", "is_remote_url", "version_of", "pinned_source"]
