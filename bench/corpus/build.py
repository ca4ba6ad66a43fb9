"""Build the real-notebook corpus from its manifest.

Nothing of another project is kept in this repository: ``manifest.json``
names, for every notebook, where it comes from (a PyPI source distribution
pinned by exact version and sha256, or a git commit of the upstream
repository), its path there, its licence and how it is converted. This
module fetches those sources and converts them mechanically:

- ``ipynb``: the notebook as upstream ships it, outputs and execution counts
  stripped;
- ``sphinx-gallery``: a gallery script turned into the notebook its gallery
  offers for download, by sphinx-gallery's own parser and notebook writer
  with sphinx-gallery's default settings;
- ``py:percent`` / ``py:sphinx`` / ``py:light``: a script read by jupytext
  in that format.

A notebook is never edited. Each notebook gets a folder of its own in the
build directory, laid out as upstream lays it out (the notebook at its
upstream path, with ``.ipynb``, and the data files the manifest lists at
theirs), so relative paths in the notebook resolve as they do upstream.

Sources:

- ``sdist``: the file named on the package index's simple page (``PIP_INDEX_URL``,
  default PyPI; the registry is all it needs), checked against the manifest's sha256 and kept
  in a download cache, so a second build downloads nothing;
- ``git``: read with ``git show COMMIT:PATH`` from a local git directory of
  the upstream repository (``--git OWNER/NAME=GITDIR``, or ``--mirrors DIR``
  holding ``OWNER+NAME/repo``, ``OWNER+NAME`` or ``NAME.git``); without one,
  those notebooks are skipped and the build says which directory it needs.

``python -m bench corpus build [--out DIR] [--only NAME ...] [--ci]``
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "manifest.json"
#: the default build directory (gitignored)
DEFAULT_OUT = HERE.parent / ".corpus"
FORMATS = ("ipynb", "sphinx-gallery", "py:percent", "py:sphinx", "py:light")


class CorpusError(RuntimeError):
    """A source could not be had or did not match its pin."""


@dataclass
class Built:
    name: str
    #: the notebook, relative to the build directory
    notebook: str | None
    #: the notebook's own folder (what the harness copies), relative to the build directory
    root: str | None
    status: str  # "built", "skipped", "failed"
    detail: str = ""
    sha256: str | None = None


@dataclass
class Manifest:
    sources: dict[str, dict[str, Any]]
    notebooks: list[dict[str, Any]]
    raw: dict[str, Any] = field(default_factory=dict)

    def select(self, only: Iterable[str] | None = None, ci: bool = False) -> list[dict[str, Any]]:
        chosen = list(self.notebooks)
        if ci:
            chosen = [n for n in chosen if n.get("ci")]
        if only:
            wanted = list(only)
            known = {n["name"] for n in self.notebooks}
            unknown = [w for w in wanted if w not in known]
            if unknown:
                raise CorpusError(f"not in the manifest: {', '.join(unknown)}")
            chosen = [n for n in chosen if n["name"] in wanted]
        return chosen


def load_manifest(path: Path = MANIFEST) -> Manifest:
    """Read and check the manifest: every notebook names a known source, a
    known format and a unique name; every source is pinned."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    sources = raw["sources"]
    for sid, src in sources.items():
        kind = src.get("kind")
        if kind == "sdist":
            missing = [k for k in ("package", "version", "sha256", "repo", "licence") if not src.get(k)]
        elif kind == "git":
            missing = [k for k in ("repo", "commit", "licence") if not src.get(k)]
            if len(src.get("commit", "")) != 40:
                missing.append("commit (40 hex)")
        else:
            missing = ["kind (sdist or git)"]
        if missing:
            raise CorpusError(f"{path.name}: source {sid!r} lacks {', '.join(missing)}")
    names: set[str] = set()
    for nb in raw["notebooks"]:
        for key in ("name", "source", "path", "format"):
            if not nb.get(key):
                raise CorpusError(f"{path.name}: a notebook lacks {key!r}: {nb}")
        if nb["name"] in names:
            raise CorpusError(f"{path.name}: two notebooks are named {nb['name']!r}")
        names.add(nb["name"])
        if nb["source"] not in sources:
            raise CorpusError(f"{path.name}: {nb['name']}: unknown source {nb['source']!r}")
        if nb["format"] not in FORMATS:
            raise CorpusError(f"{path.name}: {nb['name']}: format must be one of {', '.join(FORMATS)}")
    return Manifest(sources=sources, notebooks=raw["notebooks"], raw=raw)


# ---------------------------------------------------------------- sources


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _sdist_filename(src: dict[str, Any]) -> str:
    return src.get("filename") or f"{src['package'].replace('-', '_')}-{src['version']}.tar.gz"


def download_sdist(src: dict[str, Any], cache: Path, *, log=print) -> Path:
    """The source distribution *src* pins, from *cache* or downloaded with pip
    into it; its sha256 must be the manifest's."""
    cache.mkdir(parents=True, exist_ok=True)
    want = src["sha256"]
    name = _sdist_filename(src)
    have = cache / name
    if have.exists() and sha256_file(have) == want:
        return have
    log(f"  downloading {src['package']}=={src['version']} (source distribution) ...")
    # from the package index's simple page, as pip finds it (pip download of
    # an sdist would prepare its metadata, which builds the package)
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
    page_url = f"{index}/{re.sub(r'[-_.]+', '-', src['package']).lower()}/"
    try:
        with urllib.request.urlopen(page_url, timeout=120) as reply:
            page = reply.read().decode("utf-8", "replace")
        link = next((m.group(1) for m in re.finditer(r'href="([^"]+)"', page)
                     if urllib.parse.urlsplit(m.group(1)).path.rsplit("/", 1)[-1] == name), None)
        if link is None:
            raise CorpusError(f"{page_url} lists no {name}")
        with tempfile.TemporaryDirectory(prefix="corpus-dl-") as tmp:
            part = Path(tmp) / name
            with urllib.request.urlopen(urllib.parse.urljoin(page_url, html.unescape(link)), timeout=600) as reply, \
                    part.open("wb") as out:
                shutil.copyfileobj(reply, out)
            got = sha256_file(part)
            if got != want:
                raise CorpusError(f"{name}: sha256 {got}, the manifest pins {want}")
            shutil.move(str(part), have)
    except OSError as err:
        raise CorpusError(f"cannot download {name} from {index}: {err}") from None
    return have


class SdistReader:
    """Members of an sdist, by their path below its top folder."""

    def __init__(self, archive: Path):
        self.archive = archive
        if archive.name.endswith(".zip"):
            self._zip = zipfile.ZipFile(archive)
            names = self._zip.namelist()
        else:
            self._zip = None
            self._tar = tarfile.open(archive, "r:*")
            names = self._tar.getnames()
        top = {n.split("/", 1)[0] for n in names}
        if len(top) != 1:
            raise CorpusError(f"{archive.name}: expected one top folder, found {sorted(top)[:5]}")
        self.top = top.pop()
        self._names = set(names)

    def read(self, rel: str) -> bytes:
        member = f"{self.top}/{rel}"
        if member not in self._names:
            raise CorpusError(f"{self.archive.name}: no {rel}")
        if self._zip is not None:
            return self._zip.read(member)
        fh = self._tar.extractfile(member)
        if fh is None:
            raise CorpusError(f"{self.archive.name}: {rel} is not a file")
        return fh.read()

    def listdir(self, rel: str) -> list[str]:
        prefix = f"{self.top}/{rel.rstrip('/')}/"
        return sorted(n[len(self.top) + 1:] for n in self._names if n.startswith(prefix) and not n.endswith("/"))


class GitReader:
    """Files of one commit of a local git directory."""

    def __init__(self, gitdir: Path, commit: str):
        self.gitdir = gitdir
        self.commit = commit
        ok = subprocess.run(["git", "--git-dir", str(gitdir), "cat-file", "-e", f"{commit}^{{commit}}"],
                            capture_output=True)
        if ok.returncode != 0:
            raise CorpusError(f"{gitdir}: commit {commit} is not there")

    def read(self, rel: str) -> bytes:
        proc = subprocess.run(["git", "--git-dir", str(self.gitdir), "show", f"{self.commit}:{rel}"],
                              capture_output=True)
        if proc.returncode != 0:
            raise CorpusError(f"{self.gitdir.name}@{self.commit[:12]}: no {rel}")
        return proc.stdout

    def listdir(self, rel: str) -> list[str]:
        proc = subprocess.run(["git", "--git-dir", str(self.gitdir), "ls-tree", "-r", "--name-only",
                               self.commit, "--", rel.rstrip("/") + "/"], capture_output=True, text=True)
        return sorted(proc.stdout.split())


def find_git_dir(repo: str, explicit: dict[str, Path], mirror_roots: list[Path]) -> Path | None:
    """A local git directory for *repo* (``owner/name``)."""
    if repo in explicit:
        return explicit[repo]
    owner, name = repo.split("/", 1)
    for root in mirror_roots:
        for cand in (root / f"{owner}+{name}" / "repo", root / f"{owner}+{name}", root / f"{name}.git",
                     root / name / ".git"):
            if (cand / "HEAD").exists() or (cand / "objects").is_dir():
                return cand
    return None


# ---------------------------------------------------------------- conversion


def convert(data: bytes, fmt: str) -> Any:
    """*data* (a notebook or a script) → an nbformat v4 notebook without
    outputs, run by the ``python3`` kernel. Mechanical: nothing is edited."""
    import nbformat

    text = data.decode("utf-8")
    if fmt == "ipynb":
        nb = nbformat.reads(text, as_version=4)
    elif fmt == "sphinx-gallery":
        nb = _sphinx_gallery_notebook(data)
    else:
        import jupytext

        nb = jupytext.reads(text, fmt=fmt)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        # execution timing and collapsed/scrolled state are not part of a notebook's content
        for key in ("execution", "ExecuteTime", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata.pop("widgets", None)
    nbformat.validate(nb)
    return nb


def _sphinx_gallery_notebook(data: bytes) -> Any:
    """What sphinx-gallery's "Download Jupyter notebook" gives for a script."""
    import nbformat
    from sphinx_gallery import gen_gallery, notebook
    from sphinx_gallery.py_source_parser import split_code_and_text_blocks

    conf = dict(gen_gallery.DEFAULT_GALLERY_CONF)
    with tempfile.TemporaryDirectory(prefix="corpus-sg-") as tmp:
        script = Path(tmp) / "example.py"
        script.write_bytes(data)
        conf["src_dir"] = tmp
        _, blocks = split_code_and_text_blocks(str(script))[:2]
        content = notebook.jupyter_notebook(blocks, conf, tmp)
    return nbformat.reads(json.dumps(content), as_version=4)


def build(out: Path, manifest: Manifest, selection: list[dict[str, Any]], *, cache: Path | None = None,
          git_dirs: dict[str, Path] | None = None, mirror_roots: list[Path] | None = None,
          log=print) -> list[Built]:
    """Build *selection* into *out*; write ``out/index.json``; return what happened."""
    import nbformat

    out.mkdir(parents=True, exist_ok=True)
    cache = cache or out / "downloads"
    git_dirs = git_dirs or {}
    mirror_roots = mirror_roots or []
    readers: dict[str, Any] = {}
    reader_errors: dict[str, str] = {}
    results: list[Built] = []
    for entry in selection:
        sid = entry["source"]
        src = manifest.sources[sid]
        if sid not in readers and sid not in reader_errors:
            try:
                if src["kind"] == "sdist":
                    readers[sid] = SdistReader(download_sdist(src, cache, log=log))
                else:
                    gitdir = find_git_dir(src["repo"], git_dirs, mirror_roots)
                    if gitdir is None:
                        raise CorpusError(f"needs a git directory of {src['repo']} holding {src['commit'][:12]}"
                                          f" (--git {src['repo']}=GITDIR or --mirrors DIR)")
                    readers[sid] = GitReader(gitdir, src["commit"])
            except CorpusError as err:
                reader_errors[sid] = str(err)
        if sid in reader_errors:
            status = "skipped" if src["kind"] == "git" else "failed"
            results.append(Built(entry["name"], None, None, status, reader_errors[sid]))
            continue
        reader = readers[sid]
        root = out / "notebooks" / entry["name"]
        try:
            nb = convert(reader.read(entry["path"]), entry["format"])
            if root.exists():
                shutil.rmtree(root)
            nb_rel = Path(entry["path"]).with_suffix(".ipynb")
            nb_path = root / nb_rel
            nb_path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, str(nb_path))
            for rel in entry.get("files", []):
                members = [rel] if not rel.endswith("/") else reader.listdir(rel)
                for member in members:
                    dest = root / member
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    dest.write_bytes(reader.read(member))
            results.append(Built(entry["name"], str(nb_path.relative_to(out)), str(root.relative_to(out)),
                                 "built", sha256=sha256_file(nb_path)))
        except CorpusError as err:
            results.append(Built(entry["name"], None, None, "failed", str(err)))
    index_path = out / "index.json"
    index: dict[str, Any] = {}
    if index_path.exists():
        try:
            index = json.loads(index_path.read_text(encoding="utf-8"))
        except ValueError:
            index = {}
    for r in results:
        if r.status == "built":
            index[r.name] = {"notebook": r.notebook, "root": r.root, "sha256": r.sha256}
        else:
            index.pop(r.name, None)
    index_path.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return results


def load_index(out: Path) -> dict[str, Any]:
    path = out / "index.json"
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def parse_git_args(values: list[str] | None) -> dict[str, Path]:
    got: dict[str, Path] = {}
    for v in values or []:
        repo, sep, gitdir = v.partition("=")
        if not sep or "/" not in repo:
            raise CorpusError(f"--git takes OWNER/NAME=GITDIR, not {v!r}")
        got[repo] = Path(gitdir)
    return got


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the build directory (default: bench/.corpus)")
    p.add_argument("--only", nargs="+", metavar="NAME", help="build only these notebooks")
    p.add_argument("--ci", action="store_true", help="only the fast subset CI runs (sdist sources)")
    p.add_argument("--cache", type=Path, help="download cache for source distributions (default: OUT/downloads)")
    p.add_argument("--git", action="append", metavar="OWNER/NAME=GITDIR",
                   help="a local git directory of an upstream repository (repeatable)")
    p.add_argument("--mirrors", action="append", type=Path, metavar="DIR",
                   help="a folder holding git directories named OWNER+NAME/repo, OWNER+NAME or NAME.git")


def main(args: argparse.Namespace) -> int:
    manifest = load_manifest()
    selection = manifest.select(args.only, ci=args.ci)
    results = build(args.out, manifest, selection, cache=args.cache, git_dirs=parse_git_args(args.git),
                    mirror_roots=args.mirrors or [], log=lambda m: print(m, file=sys.stderr))
    width = max((len(r.name) for r in results), default=8)
    for r in results:
        print(f"{r.name:<{width}}  {r.status:<7}  {r.notebook or r.detail}")
    built = sum(r.status == "built" for r in results)
    print(f"{built} of {len(results)} notebooks built into {args.out}")
    return 0 if all(r.status != "failed" for r in results) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.corpus.build")
    add_arguments(parser)
    sys.exit(main(parser.parse_args()))
