"""``notelock replay --venv DIR``: build the lock's environment, replay inside it.

The environment is made the usual way: ``python -m venv DIR`` (with this
Python), then ``DIR/bin/python -m pip install -r requirements.txt`` with the
exact pins of the lock (:mod:`notelock.core.envspec`). notelock itself is
not installed from an index: the venv gets a ``.pth`` line pointing at the
notelock that drives the replay, so kernel and driver speak the same
protocol. The replay kernel is then started with ``DIR``'s Python, through a
kernel spec written to a temporary folder.

With *inherit*, the venv also sees this environment's packages (another
``.pth`` line), so pip only installs the pins that differ from what is here:
a replay on the machine that has the packages costs seconds, not a download.

After installing, the packages the venv actually has are read back (in the
venv's own Python) and compared with the pins: the report says the replay
ran on the pinned versions, or names each one that differs.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core import envspec
from ..core.errors import NotelockError

#: pinned packages that are not installed into the venv from an index
_PROVIDED = frozenset({"notelock"})
_LIST = ("import json, re\nfrom importlib import metadata\n"
         "out = {}\n"
         "for d in metadata.distributions():\n"
         "    name = d.metadata['Name']\n"
         "    if name: out.setdefault(re.sub(r'[-_.]+', '-', name).lower(), d.version)\n"
         "print(json.dumps(out))")


@dataclass
class Venv:
    """A built environment: its Python, what it has, and how it differs from the pins."""

    folder: Path
    python: Path
    pinned: int
    differences: list[str]
    created: bool

    def note(self) -> str:
        """The line the replay report carries."""
        if not self.differences:
            return (f"ran on the pinned versions: {self.pinned} packages of the lock installed in {self.folder} "
                    f"(python {platform.python_version()})")
        return (f"ran in {self.folder}, which differs from the pins: " + "; ".join(self.differences[:8])
                + ("; …" if len(self.differences) > 8 else ""))


def _python_of(folder: Path) -> Path:
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _site_packages(python: Path) -> Path:
    out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise NotelockError(f"{python}: cannot ask it for its site-packages: {out.stderr.strip()[-200:]}")
    return Path(out.stdout.strip())


def _run(cmd: list[str], what: str, timeout: float) -> None:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise NotelockError(f"{what}: did not finish within {timeout:.0f} s") from None
    if done.returncode != 0:
        tail = " ".join((done.stderr or done.stdout).split())[-300:]
        raise NotelockError(f"{what} failed (exit {done.returncode}): {tail}")


def installed_in(python: Path) -> dict[str, str]:
    """``name -> version`` of every distribution *python* sees."""
    done = subprocess.run([str(python), "-c", _LIST], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise NotelockError(f"{python}: cannot list its packages: {done.stderr.strip()[-200:]}")
    data: dict[str, str] = json.loads(done.stdout)
    return data


def build_venv(lock: dict[str, Any], folder: str | os.PathLike[str], *, inherit: bool = False,
               timeout: float = 3600) -> Venv:
    """Create (or reuse) the venv at *folder* and install the lock's pins into it."""
    target = Path(folder).absolute()
    python = _python_of(target)
    created = not python.exists()
    if created:
        if target.exists() and any(target.iterdir()):
            raise NotelockError(f"{target}: exists and is not a virtual environment (give an empty or new folder)")
        _run([sys.executable, "-m", "venv", str(target)], f"python -m venv {target}", timeout)
    site = _site_packages(python)
    lines = [str(Path(__file__).resolve().parents[2])]  # the folder holding this notelock package
    if inherit:
        lines.append(sysconfig.get_paths()["purelib"])
    (site / "notelock-replay.pth").write_text("\n".join(lines) + "\n", encoding="utf-8")
    pins = {n: v for n, v in envspec.pins(lock).items() if n not in _PROVIDED}
    with tempfile.TemporaryDirectory(prefix="notelock-venv-") as tmp:
        req = Path(tmp) / "requirements.txt"
        req.write_text(envspec.requirements_text(lock, exclude=_PROVIDED), encoding="utf-8")
        _run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", str(req)],
             f"pip install -r requirements.txt into {target}", timeout)
    have = installed_in(python)
    differences = [line for line in envspec.installed_differences({"environment": {"packages": pins}}, have)]
    recorded_py = envspec.python_version(lock)
    if recorded_py and recorded_py != platform.python_version():
        differences.insert(0, f"python {recorded_py} recorded, {platform.python_version()} in the venv "
                              "(venv can only use the Python that runs notelock)")
    return Venv(folder=target, python=python, pinned=len(pins), differences=differences, created=created)


@contextmanager
def venv_kernel(venv: Venv) -> Iterator[str]:
    """A kernel spec running *venv*'s Python, findable while the context lasts; yields its name."""
    name = "notelock-venv"
    with tempfile.TemporaryDirectory(prefix="notelock-kernelspec-") as tmp:
        spec = Path(tmp) / "kernels" / name
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [str(venv.python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": f"notelock replay ({venv.folder.name})", "language": "python"}), encoding="utf-8")
        before = os.environ.get("JUPYTER_PATH")
        os.environ["JUPYTER_PATH"] = tmp + (os.pathsep + before if before else "")
        try:
            yield name
        finally:
            if before is None:
                os.environ.pop("JUPYTER_PATH", None)
            else:
                os.environ["JUPYTER_PATH"] = before


__all__ = ["build_venv", "venv_kernel", "installed_in", "Venv"]
