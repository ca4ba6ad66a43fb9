"""Digest primitives: xxh3-128 of bytes, of files (streamed) and of canonical JSON.

These need only ``xxhash``; nothing here imports numpy, pandas or pyarrow, so
hashing a file never pays for loading the data stack.
"""

from __future__ import annotations

import os
import struct
from typing import Any

import xxhash

from notelock.core.canonical import dumps_compact

PREFIX = "xxh3_128:"

#: The version of every rule that turns a value, code or a node into a digest.
#: Recorded in each lock (``rules.hashing``); any change that can change a
#: digest bumps it (tests/core/golden/identities.json holds the digests).
RULES_VERSION = 4

new_hasher = xxhash.xxh3_128
_pack_u64 = struct.Struct("<Q").pack
_pack_i64 = struct.Struct("<q").pack
_pack_f64 = struct.Struct("<d").pack


def format_digest(raw_hex: str) -> str:
    """Write a 32-hex xxh3-128 digest in notelock's ``xxh3_128:<hex>`` form."""
    return PREFIX + raw_hex


def hash_bytes(data: Any) -> str:
    """Hash a bytes-like object (bytes, bytearray, memoryview, any buffer).

    The result is the plain xxh3-128 of the bytes, so it can be checked with
    ``xxhash.xxh3_128_hexdigest(data)``.
    """
    if isinstance(data, memoryview) and not data.c_contiguous:
        # xxhash needs one contiguous buffer; a strided view is rare enough to copy.
        data = data.tobytes()
    return PREFIX + xxhash.xxh3_128_hexdigest(data)


# Largest single read. The bytes read are hashed right away; reads that fit
# in the CPU's L2 cache are hashed from cache, while bigger ones are evicted
# to memory before xxh3 gets to them (8 MiB reads measured ~35% slower).
_READ_PIECE = 256 << 10


def hash_file(path: str | os.PathLike[str], chunk_size: int = 8 << 20) -> str:
    """Hash a file's bytes, streamed in constant memory.

    Equal to ``hash_bytes(Path(path).read_bytes())``. One buffer of
    ``min(chunk_size, 256 KiB)`` bytes is allocated and refilled with
    ``readinto``, so no per-chunk objects are created and memory stays
    constant whatever the file size; *chunk_size* caps the buffer. The file
    is opened unbuffered since Python's buffering would only add a copy.
    """
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")
    size = min(chunk_size, _READ_PIECE)
    h = new_hasher()
    buf = bytearray(size)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        _advise_sequential(fh)
        readinto = fh.readinto
        update = h.update
        while True:
            n = readinto(buf)
            if not n:
                break
            update(view if n == size else view[:n])
    return PREFIX + h.hexdigest()


def _advise_sequential(fh: Any) -> None:
    """Tell the kernel the file is read once, front to back (bigger read-ahead)."""
    fadvise = getattr(os, "posix_fadvise", None)
    if fadvise is None:
        return
    try:
        fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
    except OSError:  # not supported by this file system: only a hint
        pass


def hash_json(data: Any) -> str:
    """Hash plain data through its canonical compact JSON text (UTF-8).

    Used for identities: equal data (whatever the dict order) gives the same
    digest, ``hash_json(x) == hash_bytes(dumps_compact(x).encode())``.
    """

    return hash_bytes(dumps_compact(data).encode("utf-8"))


def tag(name: str) -> bytes:
    """The framed form of a type tag: one length byte, then the ASCII name.

    Every encoded value starts with such a tag; the length byte makes a tag
    self-delimiting so no tag is a prefix of another's encoding.
    """
    raw = name.encode("ascii")
    if len(raw) > 255:
        raise ValueError("tag too long")
    return bytes((len(raw),)) + raw


def u64(n: int) -> bytes:
    """An unsigned length or count, 8 bytes little-endian."""
    return _pack_u64(n)


def i64(n: int) -> bytes:
    """A signed 64-bit integer, 8 bytes little-endian."""
    return _pack_i64(n)


def f64(x: float) -> bytes:
    """A float by its IEEE-754 binary64 bytes (so 1 ulp apart differs, -0.0 differs from 0.0)."""
    return _pack_f64(x)


def blob(data: bytes) -> bytes:
    """Length-prefixed bytes."""
    return _pack_u64(len(data)) + data


def text(s: str) -> bytes:
    """Length-prefixed UTF-8 of a string (lone surrogates kept, never an error)."""
    raw = s.encode("utf-8", "surrogatepass")
    return _pack_u64(len(raw)) + raw


_NAMES: dict[str, bytes] = {}


def name_text(s: str) -> bytes:
    """``text(s)`` memoised for short strings (attribute names, dict keys, column labels)."""
    cached = _NAMES.get(s)
    if cached is None:
        cached = text(s)
        if len(s) <= 64:
            if len(_NAMES) >= 65536:
                _NAMES.clear()
            _NAMES[s] = cached
    return cached
