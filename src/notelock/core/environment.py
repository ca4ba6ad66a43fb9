"""The lock's ``environment`` section: where the computation ran.

Python, OS, CPU, memory, every installed distribution, dependency lock files,
native thread pools, GPUs, an allowlist of environment variables and the hash
seed. None of it is part of any identity; it is recorded so that a diff can
say *why* two runs of the same computation may have differed.

A capture is cached: :meth:`EnvironmentCapture.get` recomputes the expensive
parts (installed packages, thread pools) only when the process imported a new
third-party top-level package since the last capture, because that is what can
change them (a ``pip install`` in the kernel followed by an import, or the
first import of a library that loads its own BLAS).
"""

from __future__ import annotations

import os
import platform
import random
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import xxhash

from notelock.core.errors import UsageError

__all__ = [
    "DEPENDENCY_LOCK_NAMES",
    "VARIABLES",
    "EnvironmentCapture",
    "find_git_root",
    "rng_state_hash",
    "run_command",
    "seed_everything",
]

#: Environment variables recorded by value. They can change a result (thread
#: counts change float summation order, ``PYTHONHASHSEED`` changes set/dict
#: iteration of strings, locale and time zone change parsing) and they never
#: hold secrets. No other variable is ever recorded.
VARIABLES = (
    "PYTHONHASHSEED",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "NUMEXPR_MAX_THREADS",
    "LOKY_MAX_CPU_COUNT",
    "MKL_CBWR",
    "OPENBLAS_CORETYPE",
    "CUDA_VISIBLE_DEVICES",
    "CUBLAS_WORKSPACE_CONFIG",
    "CUDA_LAUNCH_BLOCKING",
    "TF_DETERMINISTIC_OPS",
    "TF_CUDNN_DETERMINISTIC",
    "TZ",
    "LANG",
    "LC_ALL",
    "LC_NUMERIC",
    "LC_CTYPE",
    "LC_TIME",
    "SOURCE_DATE_EPOCH",
)

#: Dependency lock files hashed when found at the git root or beside the notebook.
DEPENDENCY_LOCK_NAMES = (
    "uv.lock",
    "poetry.lock",
    "pixi.lock",
    "Pipfile.lock",
    "environment.yml",
    "environment.yaml",
    "conda-lock.yml",
)
# Also every requirements*.txt.
_REQUIREMENTS = re.compile(r"requirements.*\.txt\Z")

_DIST_INFO = re.compile(r"([^-]+)-([^-]+)\.dist-info\Z")
_GPU_TIMEOUT_S = 2.0
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) | frozenset(sys.builtin_module_names)


def run_command(
    args: Sequence[str],
    timeout: float,
    cwd: str | os.PathLike[str] | None = None,
    env: dict[str, str] | None = None,
) -> tuple[int, str] | None:
    """Run *args*, return ``(returncode, stdout)``, or ``None`` when it could not
    run (missing binary, permission error) or took longer than *timeout* seconds.

    Never raises. On timeout the child is killed and not waited for beyond a
    short grace period, so a process stuck in the kernel cannot hang the caller.
    """
    try:
        proc = subprocess.Popen(  # noqa: S603 - fixed argument lists, no shell
            list(args),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    except (OSError, ValueError):
        return None
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        try:
            proc.communicate(timeout=0.5)
        except Exception:  # noqa: BLE001 - best effort; the child was killed
            pass
        return None
    except Exception:  # noqa: BLE001 - never let a probe break a capture
        proc.kill()
        return None
    return proc.returncode, out.decode("utf-8", "replace")


def find_git_root(start: str | os.PathLike[str] | None) -> Path | None:
    """The nearest folder at or above *start* holding a ``.git`` entry (folder
    or worktree/submodule file), found without running git; ``None`` if none."""
    if start is None:
        return None
    try:
        here = Path(start).resolve()
    except OSError:
        return None
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return None


def _hash_file(path: Path) -> str:
    """xxh3-128 of a file's bytes, streamed in constant memory."""
    digest = xxhash.xxh3_128()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return "xxh3_128:" + digest.hexdigest()


def _normalise_name(name: str) -> str:
    """PEP 503 normalised distribution name ("Scikit_Learn" -> "scikit-learn")."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _packages() -> dict[str, str]:
    """Every installed distribution visible on ``sys.path``: name -> version.

    When a distribution is installed twice on the path, the first one wins,
    as it does for imports. Name and version are read from the
    ``{name}-{version}.dist-info`` folder name when it has that standard form
    (about a hundred times faster than parsing every METADATA file); other
    installs (``.egg-info``, odd folder names) fall back to their metadata.
    """
    from importlib import metadata

    found: dict[str, str] = {}
    for dist in metadata.distributions():
        folder = getattr(dist, "_path", None)
        match = _DIST_INFO.match(getattr(folder, "name", "") or "")
        try:
            if match:
                name, version = match.group(1), match.group(2)
            else:
                name, version = dist.metadata["Name"], dist.version
        except Exception:  # noqa: BLE001 - a broken METADATA file must not break the capture
            continue
        if not name or version is None:
            continue
        found.setdefault(_normalise_name(name), str(version))
    return dict(sorted(found.items()))


def installed_packages() -> dict[str, str]:
    """Every distribution installed for this Python, as the environment section records them."""
    return _packages()


def _threads() -> list[dict[str, Any]]:
    """Native thread pools loaded in this process (BLAS, OpenMP), via threadpoolctl."""
    try:
        from threadpoolctl import threadpool_info

        pools = threadpool_info()
    except Exception:  # noqa: BLE001 - threadpoolctl probes native libraries; never fail on it
        return []
    keep = ("user_api", "internal_api", "version", "num_threads")
    rows = [{k: pool.get(k) for k in keep} for pool in pools]
    return sorted(rows, key=lambda r: tuple(str(r[k]) for k in keep))


def _gpu() -> list[dict[str, str]] | None:
    """GPUs reported by ``nvidia-smi``; ``None`` when it is missing, fails or is slow."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    result = run_command(
        [exe, "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"], timeout=_GPU_TIMEOUT_S
    )
    if result is None or result[0] != 0:
        return None
    gpus = []
    for line in result[1].splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3 and parts[0]:
            gpus.append({"name": parts[0], "driver": parts[1], "memory": parts[2]})
    return gpus or None


def _cpu() -> dict[str, Any]:
    """CPU model and counts (total, and usable by this process)."""
    model = None
    try:
        if sys.platform.startswith("linux"):
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    # x86 says "model name", ARM boards often only "Model" or "Hardware".
                    if key.strip() in ("model name", "Model", "Hardware", "cpu model"):
                        model = value.strip()
                        break
        elif sys.platform == "darwin":
            result = run_command(["sysctl", "-n", "machdep.cpu.brand_string"], timeout=1.0)
            if result and result[0] == 0:
                model = result[1].strip() or None
    except OSError:
        pass
    if not model:
        model = platform.processor() or None
    try:
        available: int | None = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        available = os.cpu_count()
    return {"model": model, "count": os.cpu_count(), "available": available}


def _memory_bytes() -> int | None:
    """Physical memory of the machine in bytes, if the OS tells."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        pass
    if sys.platform == "win32":
        try:
            import ctypes

            class _Status(ctypes.Structure):
                _fields_ = [
                    ("dwLength", ctypes.c_ulong),
                    ("dwMemoryLoad", ctypes.c_ulong),
                    ("ullTotalPhys", ctypes.c_ulonglong),
                    ("ullAvailPhys", ctypes.c_ulonglong),
                    ("ullTotalPageFile", ctypes.c_ulonglong),
                    ("ullAvailPageFile", ctypes.c_ulonglong),
                    ("ullTotalVirtual", ctypes.c_ulonglong),
                    ("ullAvailVirtual", ctypes.c_ulonglong),
                    ("sullAvailExtendedVirtual", ctypes.c_ulonglong),
                ]

            status = _Status()
            status.dwLength = ctypes.sizeof(_Status)
            if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
                return int(status.ullTotalPhys)
        except Exception:  # noqa: BLE001 - optional fact
            pass
    return None


def _python() -> dict[str, Any]:
    """Interpreter facts; the executable is given relative to ``sys.prefix`` so
    that the same environment at another path records the same value."""
    executable = sys.executable or ""
    try:
        rel = os.path.relpath(executable, sys.prefix) if executable else None
    except ValueError:  # another drive on Windows
        rel = None
    if rel is None or rel.startswith(".."):
        rel = os.path.basename(executable) or None
    if sys.prefix != getattr(sys, "base_prefix", sys.prefix):
        kind = "venv"
    elif os.path.isdir(os.path.join(sys.prefix, "conda-meta")):
        kind = "conda"
    else:
        kind = "system"
    return {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": rel.replace(os.sep, "/") if rel else None,
        "prefix_kind": kind,
        "hash_randomization": bool(sys.flags.hash_randomization),
    }


def _platform() -> dict[str, Any]:
    """OS facts: system, kernel release, machine, C library and distribution."""
    info: dict[str, Any] = {
        "system": platform.system(),
        "release": platform.release(),
        "machine": platform.machine(),
        "byteorder": sys.byteorder,
    }
    try:
        lib, version = platform.libc_ver()
        info["libc"] = f"{lib} {version}".strip() or None
    except (OSError, ValueError):
        info["libc"] = None
    distro = None
    try:
        distro = platform.freedesktop_os_release().get("PRETTY_NAME")  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        if sys.platform == "darwin":
            distro = "macOS " + platform.mac_ver()[0]
        elif sys.platform == "win32":
            distro = "Windows " + platform.version()
    info["distribution"] = distro
    return info


def _variables(environ: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """The allowlisted variables that are set, by value."""
    return {name: environ[name] for name in VARIABLES if name in environ}


def _copy(value: Any) -> Any:
    """A structural copy of plain JSON-like data (faster than ``copy.deepcopy``)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _third_party_modules() -> frozenset[str]:
    """Top-level names in ``sys.modules`` that are not part of the standard library."""
    return frozenset(
        top
        for top in {name.partition(".")[0] for name in list(sys.modules)}
        if top not in _STDLIB and not top.startswith("_")
    )


class EnvironmentCapture:
    """Captures the lock's ``environment`` section, cheaply when called after every cell.

    *notebook_dir* and *git_root* are where dependency lock files are looked
    for (*git_root* defaults to the repository containing *notebook_dir*,
    found without running git).
    """

    def __init__(
        self,
        notebook_dir: str | os.PathLike[str] | None = None,
        git_root: str | os.PathLike[str] | None = None,
    ) -> None:
        """Remember where to look for dependency lock files; nothing is captured yet."""
        self.notebook_dir = Path(notebook_dir) if notebook_dir is not None else None
        root = git_root if git_root is not None else find_git_root(notebook_dir)
        self.git_root = Path(root) if root is not None else None
        self._static: dict[str, Any] | None = None
        self._modules: frozenset[str] | None = None
        self._n_modules = -1
        self._packages: dict[str, str] = {}
        self._threads: list[dict[str, Any]] = []
        self._locks: dict[Path, tuple[tuple[int, int, int], str]] = {}

    def _lock_candidates(self) -> list[tuple[str, Path]]:
        """(key, path) of dependency lock files present now, keys relative to the git root."""
        folders = [f for f in (self.git_root, self.notebook_dir) if f is not None]
        seen: set[Path] = set()
        found: list[tuple[str, Path]] = []
        for folder in folders:
            try:
                names = os.listdir(folder)
            except OSError:
                continue
            for name in names:
                if name not in DEPENDENCY_LOCK_NAMES and not _REQUIREMENTS.match(name):
                    continue
                path = folder / name
                try:
                    real = path.resolve()
                except OSError:
                    continue
                if real in seen or not path.is_file():
                    continue
                seen.add(real)
                key = name
                if self.git_root is not None:
                    try:
                        key = path.resolve().relative_to(self.git_root.resolve()).as_posix()
                    except ValueError:
                        key = name
                found.append((key, path))
        return found

    def _dependency_locks(self) -> dict[str, str]:
        """Hashes of the dependency lock files, re-hashed only when their stat changes."""
        result: dict[str, str] = {}
        fresh: dict[Path, tuple[tuple[int, int, int], str]] = {}
        for key, path in self._lock_candidates():
            try:
                st = path.stat()
                stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
                cached = self._locks.get(path)
                digest = cached[1] if cached and cached[0] == stamp else _hash_file(path)
            except OSError:
                continue
            fresh[path] = (stamp, digest)
            result[key] = digest
        self._locks = fresh
        return dict(sorted(result.items()))

    def get(self) -> dict[str, Any]:
        """The ``environment`` section as plain JSON data (a fresh copy each call).

        The first call does the full capture. Later calls reuse the cached
        machine facts, re-read the allowlisted variables and dependency lock
        files (stat-checked), and recompute ``packages`` and ``threads`` only if
        a new third-party top-level package was imported since the last capture.
        """
        if self._static is None:
            self._static = {
                "python": _python(),
                "platform": _platform(),
                "cpu": _cpu(),
                "memory_bytes": _memory_bytes(),
                "gpu": _gpu(),
            }
        # sys.modules only grows in practice; scanning it costs ~1 ms, so only
        # look again when its size changed
        n_modules = len(sys.modules)
        if self._modules is None or (n_modules != self._n_modules
                                     and not _third_party_modules() <= self._modules):
            self._packages = _packages()
            self._threads = _threads()
            # Taken after the capture: threadpoolctl itself is imported by it.
            self._modules = _third_party_modules()
        self._n_modules = len(sys.modules)
        environ = os.environ
        section = dict(self._static)
        section["packages"] = self._packages
        section["threads"] = self._threads
        section["dependency_locks"] = self._dependency_locks()
        section["variables"] = _variables(environ)
        section["seeds"] = {"PYTHONHASHSEED": environ.get("PYTHONHASHSEED")}
        return _copy(section)


def rng_state_hash() -> str:
    """xxh3-128 of the global random number generator states.

    Covers the ``random`` module's global generator and, only if NumPy is
    already imported (it is never imported here), NumPy's legacy global
    generator (``np.random.get_state()``). Two equal hashes mean the next
    draws from those generators are the same.
    """
    digest = xxhash.xxh3_128()
    version, internal, gauss = random.getstate()
    digest.update(repr((version, gauss)).encode())
    digest.update(",".join(map(str, internal)).encode())
    np = sys.modules.get("numpy")
    if np is not None:
        try:
            name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
            digest.update(b"|numpy|")
            digest.update(repr((name, int(pos), int(has_gauss), float(cached))).encode())
            digest.update(np.ascontiguousarray(keys, dtype="<u4").tobytes())
        except Exception:  # noqa: BLE001 - a partially imported numpy has no state to hash
            pass
    return "xxh3_128:" + digest.hexdigest()


def seed_everything(n: int) -> dict[str, Any]:
    """Seed the global generators: ``random``, NumPy (imported if installed) and,
    only if already imported, PyTorch and TensorFlow.

    Returns ``{"seed": n, "seeded": [...]}`` naming what was seeded. *n* must
    be an integer in ``[0, 2**32)``, the range every one of them accepts.
    """
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n < 2**32:
        raise UsageError(f"seed must be an integer between 0 and 2**32 - 1, got {n!r}")
    seeded = []
    random.seed(n)
    seeded.append("random")
    np: Any
    try:
        import numpy as np
    except ImportError:
        np = None
    if np is not None:
        np.random.seed(n)
        seeded.append("numpy")
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "manual_seed"):
        torch.manual_seed(n)  # also seeds every CUDA device
        seeded.append("torch")
    tf = sys.modules.get("tensorflow")
    set_seed = getattr(getattr(tf, "random", None), "set_seed", None)
    if callable(set_seed):
        set_seed(n)
        seeded.append("tensorflow")
    return {"seed": n, "seeded": seeded}

