"""The IPython magics: the ``%%lock`` cell magic and the ``%lock`` line magic.

Thin: each command parses its arguments, calls the recording or the core,
and renders the result. Bad usage raises IPython's ``UsageError``, which the
shell shows as one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import HTML, display

from ..core import protocol
from ..core.compose import find_import
from ..core.environment import seed_everything
from ..core.errors import NotelockError
from ..core.render import LockView, environment_html, status_html
from .recording import Recording


def _lock_options(func: Any) -> Any:
    """The ``%%lock`` options, declared once in :mod:`notelock.core.protocol`."""
    for opt in reversed(protocol.LOCK_OPTIONS):
        if opt.kind is None:
            func = argument(opt.flag, action="store_true", help=opt.help)(func)
        else:
            func = argument(opt.flag, type=opt.kind, default=None, help=opt.help)(func)
    return func


@magics_class
class LockMagics(Magics):
    """notelock's magics. ``%lock?`` and ``%%lock?`` print their help."""

    def __init__(self, shell: Any, recording: Recording):
        super().__init__(shell)
        self.recording = recording

    @magic_arguments(name="%lock")
    @_lock_options
    @argument("names", nargs="*", help="with --nondeterministic: only these variables are not verified")
    @cell_magic("lock")  # type: ignore[arg-type]  # IPython types its decorators loosely
    def lock_cell(self, line: str, cell: str) -> Any:
        """Run the cell and record its data reads and model fits in the lock file.

        The cell runs exactly as it would without the magic. Its pandas reads
        (``read_csv``, ``read_parquet``, ``read_sql``…) and scikit-learn calls
        (``fit``, ``predict``, ``transform``…) become content-hashed nodes, and
        the cell itself becomes a node whose id covers its code, the content
        of the variables it reads and the notebook functions it calls. The
        lock file beside the notebook is up to date when the cell finishes.

        Examples
        --------
        ::

            %%lock
            df = pd.read_csv("transactions.csv")

            %%lock --nondeterministic
            sample = df.sample(1000)
        """
        # Normally the input transformer removes the %%lock line before IPython
        # looks for magics, so this only runs when the options are bad (the
        # transformer then leaves the line, so that this refuses the cell) or
        # when called programmatically (get_ipython().run_cell_magic("lock", ...)).
        try:
            protocol.parse_lock_options(line)
        except NotelockError as err:
            raise UsageError(str(err)) from None
        assert self.shell is not None
        result = self.shell.run_cell(cell, store_history=False)
        return result.result

    @magic_arguments(name="lock")
    @argument("command", nargs="?", default="show",
              help="show (default) | export [PATH] | status | env | seed N | allow-dirty | diff OTHER"
                   " | snapshot on|off|limit SIZE | store [PATH] | strict on|off"
                   " | contract deterministic|nondeterministic | use LOCK|PACK NAME")
    @argument("args", nargs="*", help="arguments of the command")
    @line_magic("lock")  # type: ignore[arg-type]
    def lock_line(self, line: str) -> None:
        """Show or export the notebook's lock.

        Commands
        --------
        ``%lock``
            a summary of the lock: nodes with short ids, rows × columns,
            durations and edges.
        ``%lock export [PATH]``
            write the lock file now (beside the notebook, or to PATH).
        ``%lock status``
            workflow and lock state: notebook checksum, unsaved edits, git.
        ``%lock env``
            the environment the lock records.
        ``%lock seed N``
            seed ``random``, NumPy and (if imported) torch with N, and record N.
        ``%lock allow-dirty``
            record runs from a git tree with uncommitted changes without a
            warning; the lock says so (``workflow.allow_dirty``).
        ``%lock snapshot on|off|limit SIZE``
            pin every read of this session's ``%%lock`` cells in the store
            (as ``%%lock --snapshot`` does per cell); reads over the limit
            (default 1 GiB) are recorded by hash only.
        ``%lock store [PATH|URL]``
            show the content store (default ``.notelock/`` beside the lock),
            or use the one at PATH, or a shared one at an fsspec URL
            (``s3://bucket/prefix``), for this session.
        ``%lock diff OTHER``
            the semantic diff from another lock (a path, a notebook, or
            ``NB.ipynb~1``) to this session's: what changed first.
        ``%lock strict on|off``
            stop a cell at a read whose schema differs from the previous
            read of the same source (default: a warning).
        ``%lock contract deterministic|nondeterministic``
            how replay verifies cells that declare nothing (recorded in the
            lock); a cell overrides it with ``--deterministic``,
            ``--nondeterministic`` or ``--rtol/--atol``.

        ``%lock use LOCK|PACK NAME``
            inside a ``%%lock`` cell: bind NAME to the value another lock
            pins (its cell ran under ``%%lock --cache``), verified by its
            content hash, recorded as an ``@import_…`` node whose identity
            covers the source lock's identity and the node it came from.

        Examples
        --------
        ::

            %lock
            %lock export
            %lock export audit/fraud.lock.json
        """
        try:
            args = parse_argstring(self.lock_line, protocol.strip_comment(line))
        except UsageError:
            raise
        except Exception as err:  # noqa: BLE001 - argparse errors, shown as one line
            raise UsageError(f"%lock: {err}") from None
        handler = getattr(self, "_cmd_" + args.command.replace("-", "_"), None)
        if handler is None:
            raise UsageError(f"%lock: unknown command {args.command!r} (see %lock?)")
        self.recording.settle()  # a command may read the lock file: let a background write finish
        try:
            handler(list(args.args))
        except NotelockError as err:
            raise UsageError(f"notelock: {err}") from None

    # ------------------------------------------------------------ commands
    def _cmd_show(self, args: list[str]) -> None:
        session = self.recording.session
        display(LockView(session.to_lock(), session.lock_path.name))

    def _cmd_export(self, args: list[str]) -> None:
        target = Path(args[0]).expanduser() if args else None
        if target is not None and target.is_dir():
            target = target / self.recording.session.lock_path.name
        written = self.recording.flush(target)
        if written is not None:
            print(f"notelock: wrote {written}")

    def _cmd_status(self, args: list[str]) -> None:
        session = self.recording.session
        display(HTML(status_html(session.to_lock(), session.lock_path)))

    def _cmd_env(self, args: list[str]) -> None:
        display(HTML(environment_html(self.recording.env.get())))

    def _cmd_seed(self, args: list[str]) -> None:
        if len(args) != 1 or not args[0].lstrip("-").isdigit():
            raise UsageError("usage: %lock seed N (an integer)")
        info = seed_everything(int(args[0]))
        self.recording.seed = int(args[0])
        print(f"notelock: seeded {', '.join(info.get('seeded', []))} with {args[0]}")

    def _cmd_snapshot(self, args: list[str]) -> None:
        self._store_hooks().cmd_snapshot(args)

    def _cmd_store(self, args: list[str]) -> None:
        self._store_hooks().cmd_store(args)

    def _store_hooks(self) -> Any:
        hooks = self.recording.store_hooks
        if hooks is None:
            raise UsageError("the store is not available in this kernel (see the message at load)")
        return hooks

    def _cmd_allow_dirty(self, args: list[str]) -> None:
        self.recording.workflow.allow_dirty = True
        print("notelock: runs from a dirty git tree are allowed and recorded as such")

    def _cmd_diff(self, args: list[str]) -> None:
        if len(args) != 1:
            raise UsageError("usage: %lock diff OTHER.lock.json (or NB.ipynb, NB.ipynb~1)")
        print(self.recording.contracts.diff_from(args[0]))

    def _cmd_strict(self, args: list[str]) -> None:
        print(self.recording.contracts.set_strict(args))

    def _cmd_use(self, args: list[str]) -> None:
        if len(args) != 2:
            raise UsageError("usage: %lock use LOCK|PACK NAME (inside a %%lock cell)")
        session = self.recording.session
        if session.current is None or not session.current.locked:
            raise UsageError("%lock use records an import: run it inside a %%lock cell")
        imported = find_import(args[0], args[1], session.base_dir)
        facts = dict(imported.facts)
        hooks = self.recording.store_hooks
        if hooks is not None:  # the importing lock pins its own copy
            facts["snapshot"] = hooks.store().put_bytes(imported.data)
        session.add_import(imported.fields, facts, imported.value)
        session.ns[args[1]] = imported.value  # the user's namespace
        print(imported.line())

    def _cmd_contract(self, args: list[str]) -> None:
        print(self.recording.contracts.set_contract(args))


__all__ = ["LockMagics"]
