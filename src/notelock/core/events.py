"""The events a :class:`~notelock.core.recorder.Session` fires.

The pattern of IPython's ``EventManager``: event names are declared here,
faces ``register`` callbacks for them (and ``unregister`` them when the
extension unloads), and the session ``trigger``\\ s them. Nothing else about
a session is set from outside.

Callbacks run in registration order. An exception raised by a callback
propagates to the session, which decides: a failure while preparing or
finishing a cell is reported once and the user's cell is unaffected, while
an error marked ``propagate`` (a strict schema contract, a replay that cannot
go on) stops the cell at the read, on purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: name → what the callback receives and when it is called
EVENTS: dict[str, str] = {
    "cell_begin": "(run) — a locked cell is about to run; what determines it is known (run.node, with its "
                  "'key': the identity before the nodes recorded inside the cell)",
    "cell_end": "(run, entry, error) — a locked cell ran and its node is complete; entry is its cell record",
    "before_read": "(token, func, args, kwargs) — a read is about to happen; a callback may set "
                   "token['call'] = (args, kwargs) to redirect it, token['serve'] = a zero-argument callable "
                   "returning the result instead, or add facts (keys not starting with '_')",
    "after_read": "(token, result, facts) — a read returned, before its node is made; a callback may add "
                  "facts (e.g. 'snapshot') or raise an error marked propagate",
    "lock_data": "(data) — the lock is being built; a callback may add its section to data",
    "lock_replaced": "(old_bytes) — the lock file is about to be replaced; old_bytes is its previous content",
}


class EventManager:
    """Callbacks by declared event name."""

    def __init__(self, events: dict[str, str] | None = None) -> None:
        self._events = dict(EVENTS if events is None else events)
        self.callbacks: dict[str, list[Callable[..., Any]]] = {name: [] for name in self._events}

    def register(self, event: str, function: Callable[..., Any]) -> None:
        """Call *function* when *event* fires (KeyError for an undeclared event)."""
        if event not in self.callbacks:
            raise KeyError(f"unknown notelock event {event!r}; declared: {', '.join(self._events)}")
        if not callable(function):
            raise TypeError(f"{function!r} is not callable")
        if function not in self.callbacks[event]:
            self.callbacks[event].append(function)

    def unregister(self, event: str, function: Callable[..., Any]) -> None:
        """Stop calling *function* for *event* (ValueError if it was not registered)."""
        callbacks = self.callbacks[event]
        for i, registered in enumerate(callbacks):
            if registered == function:
                del callbacks[i]
                return
        raise ValueError(f"{function!r} is not registered for {event!r}")

    def has(self, event: str) -> bool:
        """Whether anything listens to *event*."""
        return bool(self.callbacks[event])

    def trigger(self, event: str, *args: Any) -> None:
        """Call every callback of *event* with *args*, in order."""
        for function in list(self.callbacks[event]):
            function(*args)


__all__ = ["EVENTS", "EventManager"]
