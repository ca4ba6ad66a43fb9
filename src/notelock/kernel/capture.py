"""Tee what a cell prints and displays, passing everything on unchanged.

Used for a locked cell's shown outputs (compared on replay) and for the
cell cache (shown again on a restore). The tee is set on the stream and
display-publisher *instances*, as IPython's own output capture does: the
objects keep their class (ipykernel checks it), and nothing is suppressed.

What is kept is what the notebook keeps: ``clear_output()`` drops what was
captured before it, and ``clear_output(wait=True)`` does so when the next
output arrives — so a progress display that redraws itself (rich's live
displays, ``clear_output(wait=True)`` loops) counts once, in its last state,
however many times a timer happened to redraw it. Updates of a display by id
replace it in place and are not captured.
"""

from __future__ import annotations

import sys
from typing import Any

from ..core.shown import Shown


class Capture:
    """Tee a cell's stdout, stderr and displays into a list, passing everything on."""

    def __init__(self, shell: Any):
        self.items: list[dict[str, Any]] = []
        self._undo: list[tuple[Any, str, bool, Any]] = []
        self._clear_pending = False
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            self._patch(stream, "write", self._stream_writer(name, stream.write))
        pub = getattr(shell, "display_pub", None)
        if pub is not None:
            self._patch(pub, "publish", self._publisher(pub.publish))
            if callable(getattr(pub, "clear_output", None)):
                self._patch(pub, "clear_output", self._clearer(pub.clear_output))

    def _patch(self, obj: Any, attr: str, value: Any) -> None:
        # an instance attribute, as IPython's own output tee does: the stream
        # objects keep their class (ipykernel checks it)
        try:
            had = attr in vars(obj)
            before = getattr(obj, attr)
            setattr(obj, attr, value)
            self._undo.append((obj, attr, had, before))
        except (AttributeError, TypeError):
            pass

    def _take_pending_clear(self) -> None:
        if self._clear_pending:
            self._clear_pending = False
            self.items.clear()

    def _clearer(self, original: Any) -> Any:
        def clear_output(wait: bool = False, *args: Any, **kwargs: Any) -> Any:
            if wait:
                self._clear_pending = True
            else:
                self._clear_pending = False
                self.items.clear()
            return original(wait, *args, **kwargs)

        return clear_output

    def _stream_writer(self, name: str, original: Any) -> Any:
        items = self.items

        def write(data: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(data, str) and data:
                self._take_pending_clear()
                if items and items[-1].get("stream") == name:
                    items[-1]["text"] += data
                else:
                    items.append({"stream": name, "text": data})
            return original(data, *args, **kwargs)

        return write

    def _publisher(self, original: Any) -> Any:
        items = self.items

        def publish(data: Any, metadata: Any = None, *args: Any, **kwargs: Any) -> Any:
            if not kwargs.get("update"):
                self._take_pending_clear()
                items.append({"display": dict(data or {}), "metadata": dict(metadata or {})})
            return original(data, metadata, *args, **kwargs)

        return publish

    def stop(self) -> list[dict[str, Any]]:
        while self._undo:
            obj, attr, had, before = self._undo.pop()
            try:
                if had:
                    setattr(obj, attr, before)
                else:
                    delattr(obj, attr)
            except (AttributeError, TypeError):
                pass
        return self.items


def shown_of(items: list[dict[str, Any]], result: Any, shell: Any) -> dict[str, Any] | None:
    """The digest of what a cell showed (see :mod:`notelock.core.shown`)."""
    shown = Shown()
    for item in items:
        if item.get("stream") == "stdout":
            shown.stdout(item["text"])
        elif "display" in item:
            shown.bundle(item["display"])
    if result is not None:
        try:
            data, _ = shell.display_formatter.format(result)
            shown.bundle(data)
        except Exception:  # noqa: BLE001 - a repr that fails is not part of what was shown
            pass
    return shown.summary()
