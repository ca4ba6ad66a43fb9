"""The lock's ``workflow`` section: which code ran.

The notebook's checksum is the git blob hash of its ``nbstripout``-normalised
text, so anyone can check it with::

    nbstripout -t NB.ipynb | git hash-object --stdin

Git state (commit, branch, remote, dirty files) is read by running git, but
only when something that can change it changed (the notebook file, ``HEAD``,
the index, the branch ref, the config, or a tracked file), so that taking a
snapshot after every cell costs a handful of ``stat`` calls.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from notelock.core import protocol
from notelock.core.environment import find_git_root, run_command
from notelock.core.errors import NotelockError
from notelock.core.secrets import redact_url

__all__ = [
    "IMAGE_VARIABLES",
    "NBSTRIPOUT_EXTRA_KEYS",
    "WorkflowTracker",
    "container_image",
    "dirty_warning",
    "notebook_checksum",
    "notebook_fingerprint",
    "notebook_parts",
]

#: The metadata keys the ``nbstripout`` command line strips by default.
NBSTRIPOUT_EXTRA_KEYS = (
    "metadata.signature",
    "metadata.widgets",
    "cell.metadata.collapsed",
    "cell.metadata.ExecuteTime",
    "cell.metadata.execution",
    "cell.metadata.heading_collapsed",
    "cell.metadata.hidden",
    "cell.metadata.scrolled",
)

#: Environment variables read for ``workflow.image``, as (name variable,
#: digest variable) pairs in order of preference. A name may carry its digest
#: itself (``registry/image@sha256:…``).
IMAGE_VARIABLES = (
    ("NOTELOCK_IMAGE", "NOTELOCK_IMAGE_DIGEST"),
    ("OCI_IMAGE", "IMAGE_DIGEST"),
    ("CONTAINER_IMAGE", "CONTAINER_IMAGE_DIGEST"),
    ("JUPYTER_IMAGE_SPEC", None),  # JupyterHub KubeSpawner / DockerSpawner
    ("JUPYTER_IMAGE", None),
    ("CI_JOB_IMAGE", None),  # GitLab CI
)

_GIT_TIMEOUT_S = 5.0
# Above this many tracked files, watching each one's stat costs more than it
# saves; git is then re-run at most every _LARGE_REPO_MAX_AGE_S instead.
_WATCH_LIMIT = 2000
_LARGE_REPO_MAX_AGE_S = 30.0
_MAX_LISTED = 5
_DIGEST = re.compile(r"[A-Za-z0-9_+.-]+:[0-9a-fA-F]{32,}\Z")


def _git_blob_sha1(data: bytes) -> str:
    """What ``git hash-object --stdin`` prints for *data*."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 - git's object id, not security


def notebook_checksum(
    path: str | os.PathLike[str],
    extra_keys: Iterable[str] = (),
    keep_metadata_keys: Iterable[str] = (),
) -> str:
    """The git blob SHA-1 of the notebook as ``nbstripout -t`` prints it (see
    :func:`notebook_fingerprint`)."""
    return notebook_fingerprint(path, extra_keys, keep_metadata_keys)[0]


def notebook_fingerprint(
    path: str | os.PathLike[str],
    extra_keys: Iterable[str] = (),
    keep_metadata_keys: Iterable[str] = (),
) -> tuple[str, dict[str, Any]]:
    """``(checksum, parts)``: the notebook's checksum and :func:`notebook_parts`.

    The checksum is the git blob SHA-1 of the notebook as ``nbstripout -t`` prints it.

    Equal to ``nbstripout -t NB.ipynb | git hash-object --stdin``: outputs,
    execution counts and the default metadata keys are stripped, cell ids are
    renumbered, and the notebook is written back as nbformat writes it (keys
    sorted, one-space indent, multi-line strings split into lines, a trailing
    newline, UTF-8). *extra_keys* and *keep_metadata_keys* mirror nbstripout's
    ``--extra-keys``/``--keep-metadata-keys`` (and the git config entries
    ``filter.nbstripout.extrakeys``/``keepmetadatakeys``).

    The stripping and the writing are done here on the JSON itself, exactly as
    nbstripout and nbformat do them (a test holds the two equal), so that
    taking a checksum never imports nbformat and its schema validator: it
    costs a JSON parse, and can be done before every lock write.

    Raises :class:`NotelockError` if the file cannot be read or is not a notebook.
    """
    checksum, stripped = _stripped(path, extra_keys, keep_metadata_keys)
    return checksum, notebook_parts(stripped)


def _stripped(path: str | os.PathLike[str], extra_keys: Iterable[str],
              keep_metadata_keys: Iterable[str]) -> tuple[str, dict[str, Any]]:
    keys = [*NBSTRIPOUT_EXTRA_KEYS, *extra_keys]
    keep = set(keep_metadata_keys)
    keys = [k for k in keys if k not in keep]
    try:
        # The command line opens the file as UTF-8 text with universal newlines.
        with open(path, encoding="utf8") as f:
            nb = json.load(f)
    except OSError as err:
        raise NotelockError(f"{path}: cannot read the notebook: {err.strerror or err}") from err
    except ValueError as err:
        raise NotelockError(f"{path}: not a readable notebook: {err}") from err
    if not isinstance(nb, dict) or nb.get("nbformat") != 4 or not isinstance(nb.get("cells"), list) \
            or not isinstance(nb.get("metadata", {}), dict):
        raise NotelockError(f"{path}: not a notebook in nbformat 4 (re-save it with a current Jupyter)")
    try:
        stripped = _strip_like_nbstripout(nb, keys)
        text = _nbformat_text(stripped)
    except (AttributeError, TypeError, ValueError, _KeepOutputConflict) as err:
        raise NotelockError(f"{path}: not a readable notebook: {type(err).__name__}: {err}") from err
    return _git_blob_sha1(text.encode("utf-8")), stripped


def _part_hash(value: Any) -> str:
    data = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha1(data.encode("utf-8")).hexdigest()[:16]  # noqa: S324 - a change detector, not security


def notebook_parts(nb: dict[str, Any]) -> dict[str, Any]:
    """What the checksum covers, hashed part by part, so that a changed
    checksum can be explained: ``code`` (the code cells' sources, in order),
    ``text`` (markdown and raw cells) and ``metadata`` (dotted key → hash, two
    levels deep: ``kernelspec.display_name``). Taken from the stripped
    notebook, so volatile keys do not count here either."""
    code: list[str] = []
    text: list[Any] = []
    for cell in nb.get("cells") or []:
        if not isinstance(cell, dict):
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if cell.get("cell_type") == "code":
            code.append(_normalise_source(source))
        else:
            text.append([cell.get("cell_type"), source])
    metadata: dict[str, str] = {}
    for key, value in sorted((nb.get("metadata") or {}).items()):
        if isinstance(value, dict) and value:
            for sub, inner in sorted(value.items()):
                metadata[f"{key}.{sub}"] = _part_hash(inner)
        else:
            metadata[key] = _part_hash(value)
    return {"code": _part_hash(code), "text": _part_hash(text), "metadata": metadata}


class _KeepOutputConflict(Exception):
    """nbstripout's MetadataError: keep_output false in metadata, true in tags."""


def _pop_path(d: Any, key: str) -> None:
    """nbstripout's ``pop_recursive``: ``d.pop`` of a dotted key, nested."""
    while isinstance(d, dict):
        if key in d:
            d.pop(key)
            return
        if "." not in key:
            return
        head, key = key.split(".", 1)
        if head not in d:
            return
        d = d[head]


def _keep_output(cell: dict[str, Any], default: Any) -> Any:
    """nbstripout's ``determine_keep_output`` (strip_init_cells off)."""
    meta = cell.get("metadata")
    if not isinstance(meta, dict):
        return default
    if "init_cell" in meta:
        return bool(meta["init_cell"])
    has_meta = "keep_output" in meta
    meta_value = bool(meta.get("keep_output", False))
    has_tag = "keep_output" in (meta.get("tags") or [])
    if has_meta and has_tag and not meta_value:
        raise _KeepOutputConflict("cell metadata contradicts tags: keep_output")
    if has_meta or has_tag:
        return meta_value or has_tag
    return default


def _strip_like_nbstripout(nb: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """What ``nbstripout -t`` does to a v4 notebook read by nbformat, on plain JSON."""
    meta = nb.setdefault("metadata", {})
    # nbformat's reader drops transient values
    for key in ("orig_nbformat", "orig_nbformat_minor", "signature"):
        meta.pop(key, None)
    for cell in nb["cells"]:
        if isinstance(cell.get("metadata"), dict):
            cell["metadata"].pop("trusted", None)
    # nbformat's validator gives 4.5+ cells a missing id (nbstripout then renumbers them)
    fill_ids = isinstance(nb.get("nbformat_minor"), int) and nb["nbformat_minor"] >= 5
    keep_output = bool(meta["keep_output"]) if "keep_output" in meta else None
    cell_keys = [k.split(".", 1)[1] for k in keys if k.startswith("cell.")]
    for key in keys:
        if key.startswith("metadata."):
            _pop_path(meta, key.split(".", 1)[1])
    for i, cell in enumerate(nb["cells"]):
        keep = _keep_output(cell, keep_output)
        if "outputs" in cell:
            if not keep:
                cell["outputs"] = []  # nbstripout's max_size=0 keeps no output
            for output in cell["outputs"]:
                if "execution_count" in output:
                    output["execution_count"] = None
        if "prompt_number" in cell:
            cell["prompt_number"] = None
        if "execution_count" in cell:
            cell["execution_count"] = None
        if "id" in cell or fill_ids:
            cell["id"] = str(i)
        for key in cell_keys:
            _pop_path(cell, key)
    return nb


_SPLIT_MIMES = ("application/javascript", "image/svg+xml")


def _split_bundle(data: Any) -> None:
    if isinstance(data, dict):
        for key, value in list(data.items()):
            if isinstance(value, str) and (key.startswith("text/") or key in _SPLIT_MIMES):
                data[key] = value.splitlines(True)


def _join(value: Any) -> Any:
    return "".join(value) if isinstance(value, list) else value


def _rejoin_bundle(data: Any) -> None:
    """nbformat's reader: non-JSON mime values held as lists of lines become strings."""
    if isinstance(data, dict):
        for key, value in list(data.items()):
            json_mime = key == "application/json" or (key.startswith("application/") and key.endswith("+json"))
            if not json_mime and isinstance(value, list) and all(isinstance(line, str) for line in value):
                data[key] = "".join(value)


def _nbformat_text(nb: dict[str, Any]) -> str:
    """``nbformat.writes(nb)`` of a v4 notebook (after its reader's ``rejoin_lines``)."""
    for cell in nb["cells"]:
        if "source" in cell:
            source = _join(cell["source"])
            if isinstance(source, str):
                cell["source"] = source.splitlines(True)
        for attachment in (cell.get("attachments") or {}).values():
            _rejoin_bundle(attachment)
            _split_bundle(attachment)
        if cell.get("cell_type") == "code":
            for output in cell.get("outputs", []):
                kind = output.get("output_type")
                if kind in ("execute_result", "display_data"):
                    _rejoin_bundle(output.get("data", {}))
                    _split_bundle(output.get("data", {}))
                    continue
                if kind and isinstance(output.get("text"), list):
                    output["text"] = "".join(output["text"])
                if kind == "stream" and isinstance(output.get("text"), str):
                    output["text"] = output["text"].splitlines(True)
    text = json.dumps(nb, indent=1, sort_keys=True, separators=(",", ": "), ensure_ascii=False)
    return text if text.endswith("\n") else text + "\n"


@functools.lru_cache(maxsize=1 << 16)  # every write compares every executed cell's source
def _normalise_source(source: str) -> str:
    """Cell source with trailing whitespace and surrounding blank lines removed,
    so that an editor's cosmetic changes do not count as unsaved edits."""
    return "\n".join(line.rstrip() for line in source.strip("\n").splitlines()).strip()


def _code_sources(path: Path) -> tuple[set[str], dict[str, Any]]:
    """Normalised sources of the code cells of a saved notebook (v4 or v3), and
    its ``metadata.notelock`` settings."""
    with open(path, encoding="utf8") as f:
        data = json.load(f)
    settings = (data.get("metadata") or {}).get("notelock")
    settings = settings if isinstance(settings, dict) else {}
    cells = list(data.get("cells") or [])
    for sheet in data.get("worksheets") or []:  # nbformat 3
        cells.extend(sheet.get("cells") or [])
    sources = set()
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        src = cell.get("source", cell.get("input", ""))
        if isinstance(src, list):
            src = "".join(src)
        sources.add(_normalise_source(str(src)))
    return sources, settings


def container_image(environ: dict[str, str] | os._Environ[str] | None = None) -> dict[str, Any] | None:
    """``{"name", "digest"}`` of the container image this process runs in, as
    declared by the variables in :data:`IMAGE_VARIABLES` (or Podman's
    ``/run/.containerenv``); ``None`` when none is set."""
    env = os.environ if environ is None else environ
    for name_var, digest_var in IMAGE_VARIABLES:
        name = (env.get(name_var) or "").strip()
        if not name:
            continue
        digest = (env.get(digest_var) or "").strip() if digest_var else ""
        if "@" in name:
            name, _, embedded = name.partition("@")
            digest = digest or embedded
        return {"name": name, "digest": digest if _DIGEST.match(digest or "") else None}
    if environ is None:
        return _podman_image()
    return None


def _podman_image() -> dict[str, Any] | None:
    """Image recorded by Podman in ``/run/.containerenv`` (filled in for some containers)."""
    try:
        with open("/run/.containerenv", encoding="utf-8") as f:
            text = f.read(65536)
    except OSError:
        return None
    fields = dict(re.findall(r'^(\w+)="(.*)"$', text, flags=re.M))
    name = fields.get("image")
    if not name:
        return None
    image_id = fields.get("imageid")
    return {"name": name, "digest": f"sha256:{image_id}" if image_id and re.fullmatch(r"[0-9a-f]{64}", image_id) else None}


def dirty_warning(git: dict[str, Any]) -> str | None:
    """A one-line warning naming the modified files of a dirty working tree
    (at most five, then "and N more"); ``None`` when clean or not a repository."""
    if not git or not git.get("repository") or not git.get("dirty"):
        return None
    files = list(git.get("modified") or [])[:_MAX_LISTED]
    count = int(git.get("modified_count") or len(files))
    listed = ", ".join(files)
    if count > len(files):
        listed += f" and {count - len(files)} more"
    commit = (git.get("commit") or "")[:12] or "no commit yet"
    return (
        f"uncommitted changes in {listed}: the lock records commit {commit}, "
        "which does not hold the code that ran (commit first, or allow a dirty tree "
        "with NOTELOCK_ALLOW_DIRTY=1)"
    )


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """(mtime_ns, size, inode) of *path*, or None when it does not exist."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _git_dir(root: Path) -> Path:
    """The git directory of a work tree (``.git`` or the target of a ``.git`` file)."""
    dotgit = root / ".git"
    if dotgit.is_file():
        try:
            text = dotgit.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            return dotgit
        if text.startswith("gitdir:"):
            target = Path(text[len("gitdir:") :].strip())
            return target if target.is_absolute() else (root / target)
    return dotgit


def _truthy(value: str | None) -> bool:
    """Whether an environment flag is set to a true value."""
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


class WorkflowTracker:
    """Produces the lock's ``workflow`` section for one notebook, cheaply enough
    to be called after every cell. Never raises."""

    def __init__(self, notebook_path: str | os.PathLike[str] | None, allow_dirty: bool = False) -> None:
        """Track *notebook_path* (``None`` when the kernel does not know its
        notebook). ``allow_dirty`` is also turned on by ``NOTELOCK_ALLOW_DIRTY=1``."""
        self.notebook_path = Path(notebook_path).absolute() if notebook_path is not None else None
        self._normalised_memo: dict[str, str] = {}
        self.allow_dirty = allow_dirty
        self._root: Path | None = None
        self._root_known = False
        self._nb_stamp: Any = object()
        self._nb_key: Any = object()
        self._checksum: str | None = None
        self._parts: dict[str, Any] | None = None
        self._sources: set[str] | None = None
        self._settings: dict[str, Any] = {}
        self._git_key: Any = object()
        self._git: dict[str, Any] = {"repository": False}
        self._git_time = 0.0
        self._watch: list[Path] | None = None
        self._nbstripout_keys: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
        self.git_runs = 0  # how many times git was actually run (for tests and benchmarks)

    # -- git ---------------------------------------------------------------

    def _repo_root(self) -> Path | None:
        """The work tree holding the notebook (or the current folder), found once."""
        if not self._root_known:
            start = self.notebook_path.parent if self.notebook_path is not None else Path.cwd()
            self._root = find_git_root(start)
            self._root_known = True
        return self._root

    def _git_cache_key(self, root: Path) -> tuple[Any, ...]:
        """Everything whose change can change the git facts we report."""
        gitdir = _git_dir(root)
        head = gitdir / "HEAD"
        ref_stamp = None
        try:
            head_text = head.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            head_text = ""
        if head_text.startswith("ref:"):
            ref = head_text[4:].strip()
            ref_stamp = _stamp(gitdir / ref)
            common = gitdir / "commondir"  # worktrees keep branch refs in the main git dir
            if ref_stamp is None and common.is_file():
                try:
                    base = (gitdir / common.read_text(encoding="utf-8").strip()).resolve()
                    ref_stamp = _stamp(base / ref)
                except OSError:
                    pass
        watched: tuple[Any, ...] = ()
        if self._watch is not None:
            watched = tuple(_stamp(p) for p in self._watch)
        expiry = None
        if self._watch is None and self._git.get("repository"):
            # Too many tracked files to watch: re-check now and then instead.
            expiry = int(time.monotonic() // _LARGE_REPO_MAX_AGE_S)
        return (
            head_text,
            ref_stamp,
            _stamp(gitdir / "index"),
            _stamp(gitdir / "packed-refs"),
            _stamp(gitdir / "config"),
            _stamp(self.notebook_path) if self.notebook_path is not None else None,
            watched,
            expiry,
        )

    def _run_git(self, root: Path, *args: str) -> tuple[int, str] | None:
        """Run one git command in *root*: no prompts, no optional index writes
        (so that our own reads do not change the index we watch), C locale."""
        env = dict(os.environ)
        env.update({"GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"})
        return run_command(["git", *args], timeout=_GIT_TIMEOUT_S, cwd=root, env=env)

    def _query_git(self, root: Path) -> dict[str, Any]:
        """Run git and build the ``git`` dict; ``{"repository": False, ...}`` on failure."""
        self.git_runs += 1
        if shutil.which("git") is None:
            self._watch = None
            return {"repository": False}
        status = self._run_git(root, "status", "--porcelain=v2", "--branch", "-z", "--untracked-files=no")
        if status is None or status[0] != 0:
            self._watch = None
            return {"repository": False, "error": "git status failed or timed out"}
        commit = branch = None
        modified: list[str] = []
        fields = status[1].split("\0")
        i = 0
        while i < len(fields):
            entry = fields[i]
            i += 1
            if entry.startswith("# branch.oid "):
                oid = entry[len("# branch.oid ") :].strip()
                commit = oid if re.fullmatch(r"[0-9a-f]{40,64}", oid) else None
            elif entry.startswith("# branch.head "):
                head = entry[len("# branch.head ") :].strip()
                branch = None if head == "(detached)" else head
            elif entry.startswith("1 ") or entry.startswith("u "):
                modified.append(entry.split(" ", 8 if entry[0] == "1" else 10)[-1])
            elif entry.startswith("2 "):
                modified.append(entry.split(" ", 9)[-1])
                i += 1  # the original path of a rename follows as its own field

        tracked: list[str] | None = None
        listing = self._run_git(root, "ls-files", "-z")
        if listing is not None and listing[0] == 0:
            tracked = [p for p in listing[1].split("\0") if p]

        nb_rel = None
        if self.notebook_path is not None:
            try:
                nb_rel = self.notebook_path.resolve().relative_to(root.resolve()).as_posix()
            except (ValueError, OSError):
                nb_rel = None
        if nb_rel is not None and tracked is not None and nb_rel not in set(tracked) and nb_rel not in modified:
            modified.append(nb_rel)  # an untracked notebook is not in any commit

        if tracked is not None and len(tracked) <= _WATCH_LIMIT:
            self._watch = [root / p for p in tracked]
        else:
            self._watch = None

        remote = None
        extra: list[str] = []
        keep: list[str] = []
        config = self._run_git(
            root,
            "config",
            "-z",
            "--get-regexp",
            r"^(remote\.origin\.url|filter\.nbstripout\.(extrakeys|keepmetadatakeys))$",
        )
        if config is not None and config[0] == 0:
            for item in config[1].split("\0"):
                key, _, value = item.partition("\n")
                if key == "remote.origin.url":
                    remote = redact_url(value.strip(), keep_user=False)
                elif key == "filter.nbstripout.extrakeys":
                    extra.extend(value.split())
                elif key == "filter.nbstripout.keepmetadatakeys":
                    keep.extend(value.split())
        self._nbstripout_keys = (tuple(extra), tuple(keep))

        # The notebook first: it is the file whose changes matter most here.
        modified = sorted(set(modified), key=lambda p: (p != nb_rel, p))
        return {
            "repository": True,
            "commit": commit,
            "branch": branch,
            "remote": remote,
            "dirty": bool(modified),
            "modified": modified[:_MAX_LISTED],
            "modified_count": len(modified),
        }

    def git(self) -> dict[str, Any]:
        """The ``git`` dict, re-running git only when a watched stat changed."""
        try:
            root = self._repo_root()
            if root is None:
                return {"repository": False}
            key = self._git_cache_key(root)
            if key != self._git_key:
                self._git = self._query_git(root)
                self._git_time = time.monotonic()
                # Keyed on the state after the query: ls-files may have set up the watch list.
                self._git_key = self._git_cache_key(root)
            snapshot = dict(self._git)
            if "modified" in snapshot:
                snapshot["modified"] = list(snapshot["modified"])
            return snapshot
        except Exception as err:  # noqa: BLE001 - the workflow section must never break a cell
            return {"repository": False, "error": f"{type(err).__name__}: {err}"}

    # -- notebook ------------------------------------------------------------

    def _refresh_notebook(self) -> None:
        """Recompute checksum and saved sources when the file or the nbstripout keys changed."""
        assert self.notebook_path is not None
        stamp = _stamp(self.notebook_path)
        key = (stamp, self._nbstripout_keys)
        if key == self._nb_key:
            return
        self._nb_key = key
        self._checksum = None
        self._parts = None
        self._sources = None
        if stamp is None:
            return
        try:
            extra, keep = self._nbstripout_keys
            self._checksum, self._parts = notebook_fingerprint(self.notebook_path, extra, keep)
        except Exception:  # noqa: BLE001 - a half-saved or invalid notebook: no checksum this time
            self._checksum = self._parts = None
        try:
            self._sources, self._settings = _code_sources(self.notebook_path)
        except Exception:  # noqa: BLE001 - same as above
            self._sources = None

    def settings(self) -> dict[str, Any]:
        """The saved notebook's ``metadata.notelock`` (notebook-level declarations)."""
        if self.notebook_path is None:
            return {}
        try:
            self._refresh_notebook()
        except Exception:  # noqa: BLE001
            return {}
        return dict(self._settings)

    def _normalised(self, sources: list[str]) -> list[str]:
        """The executed sources normalised, each made once per session (a
        snapshot is taken at every write, and a session executes thousands)."""
        memo = self._normalised_memo
        out = []
        for source in sources:
            text = memo.get(source)
            if text is None:
                text = memo[source] = _normalise_source(source) if source and source.strip() else ""
            if text:
                out.append(text)
        return out

    def snapshot(self, executed_sources: list[str] | None = None) -> dict[str, Any]:
        """The ``workflow`` section as plain JSON data.

        *executed_sources* are the sources of the latest execution of each
        executed cell; ``saved`` is False when one of them is not among the
        saved notebook's code cells (unsaved edits), True otherwise, and None
        when there is no notebook (or it is unreadable and nothing ran).
        """
        git = self.git()  # first: it also reads the nbstripout keys from git config
        checksum = saved = parts = None
        name = None
        if self.notebook_path is not None:
            name = self.notebook_path.name
            try:
                self._refresh_notebook()
            except Exception:  # noqa: BLE001 - never raise from a snapshot
                self._checksum = self._sources = self._parts = None
            checksum = self._checksum
            parts = self._parts
            executed = self._normalised(executed_sources or [])
            if self._sources is None:
                saved = False if executed else None
            else:
                saved = all(s in self._sources for s in executed)
        return {
            "notebook": name,
            "checksum": checksum,
            "saved": saved,
            "parts": parts,
            "git": git,
            "allow_dirty": bool(self.allow_dirty or protocol.flag("NOTELOCK_ALLOW_DIRTY")),
            "image": _safe_image(),
        }


def _safe_image() -> dict[str, Any] | None:
    """:func:`container_image`, never raising."""
    try:
        return container_image()
    except Exception:  # noqa: BLE001 - optional fact
        return None
