"""Environment section: contents, caching, dependency locks, GPU probe, RNG helpers."""

from __future__ import annotations

import json
import os
import random
import stat
import subprocess
import sys
import textwrap
import time
import types
from importlib import metadata
from pathlib import Path

import pytest
import xxhash

from notelock.core import environment
from notelock.core.environment import EnvironmentCapture, rng_state_hash, run_command, seed_everything
from notelock.core.errors import UsageError

KEYS = {
    "python",
    "platform",
    "cpu",
    "memory_bytes",
    "packages",
    "dependency_locks",
    "threads",
    "gpu",
    "variables",
    "seeds",
}


def test_capture_contents():
    env = EnvironmentCapture().get()
    assert set(env) == KEYS
    py = env["python"]
    assert py["version"].count(".") == 2 and py["implementation"]
    assert not os.path.isabs(py["executable"])
    assert py["prefix_kind"] in ("venv", "conda", "system")
    assert env["platform"]["system"] and env["platform"]["machine"]
    assert env["cpu"]["count"] >= 1
    assert env["memory_bytes"] is None or env["memory_bytes"] > 0
    assert isinstance(env["threads"], list)
    for pool in env["threads"]:
        assert set(pool) == {"user_api", "internal_api", "version", "num_threads"}
    # Plain JSON data, nothing else.
    assert json.loads(json.dumps(env)) == env


def test_packages_are_all_distributions_normalised_and_sorted():
    packages = EnvironmentCapture().get()["packages"]
    assert list(packages) == sorted(packages)
    assert all(name == name.lower() and "_" not in name for name in packages)
    for dist in ("pytest", "xxhash", "scikit-learn", "threadpoolctl"):
        assert packages[dist] == metadata.version(dist)
    names = {(d.metadata["Name"] or "").lower().replace("_", "-").replace(".", "-") for d in metadata.distributions()}
    assert set(packages) == names - {""}


def test_variables_only_allowlisted_and_by_value(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    monkeypatch.setenv("MY_API_TOKEN", "tok-123456")
    monkeypatch.setenv("SOME_RANDOM_SETTING", "1")
    monkeypatch.delenv("TZ", raising=False)
    env = EnvironmentCapture().get()
    assert env["variables"]["OMP_NUM_THREADS"] == "3"
    assert env["variables"]["PYTHONHASHSEED"] == "0"
    assert "TZ" not in env["variables"]
    assert set(env["variables"]) <= set(environment.VARIABLES)
    assert env["seeds"] == {"PYTHONHASHSEED": "0"}
    assert "tok-123456" not in json.dumps(env)


def test_seeds_null_when_unset(monkeypatch):
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    assert EnvironmentCapture().get()["seeds"] == {"PYTHONHASHSEED": None}


def _xxh(path: Path) -> str:
    return "xxh3_128:" + xxhash.xxh3_128_hexdigest(path.read_bytes())


def test_dependency_locks(tmp_path):
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    nbdir = root / "analysis"
    nbdir.mkdir()
    (root / "uv.lock").write_text("version = 1\n")
    (root / "requirements-dev.txt").write_text("pytest\n")
    (root / "README.md").write_text("not a lock file\n")
    (nbdir / "requirements.txt").write_text("pandas==2.2\n")
    (nbdir / "environment.yml").write_text("name: x\n")

    capture = EnvironmentCapture(notebook_dir=nbdir)  # git root found by walking up
    locks = capture.get()["dependency_locks"]
    assert locks == {
        "analysis/environment.yml": _xxh(nbdir / "environment.yml"),
        "analysis/requirements.txt": _xxh(nbdir / "requirements.txt"),
        "requirements-dev.txt": _xxh(root / "requirements-dev.txt"),
        "uv.lock": _xxh(root / "uv.lock"),
    }
    (root / "uv.lock").write_text("version = 2\n")
    (root / "poetry.lock").write_text("[[package]]\n")
    locks2 = capture.get()["dependency_locks"]
    assert locks2["uv.lock"] == _xxh(root / "uv.lock") != locks["uv.lock"]
    assert "poetry.lock" in locks2

    # Without a repository: file names beside the notebook.
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "Pipfile.lock").write_text("{}")
    assert EnvironmentCapture(notebook_dir=alone).get()["dependency_locks"] == {"Pipfile.lock": _xxh(alone / "Pipfile.lock")}


def test_get_is_cached_until_a_new_package_is_imported(monkeypatch):
    calls = {"packages": 0, "threads": 0}
    real_packages, real_threads = environment._packages, environment._threads

    def packages():
        calls["packages"] += 1
        return real_packages()

    def threads():
        calls["threads"] += 1
        return real_threads()

    monkeypatch.setattr(environment, "_packages", packages)
    monkeypatch.setattr(environment, "_threads", threads)
    capture = EnvironmentCapture()
    first = capture.get()
    second = capture.get()
    assert first == second and first is not second
    assert calls == {"packages": 1, "threads": 1}

    second["packages"]["mutated"] = "1"  # callers get copies
    assert "mutated" not in capture.get()["packages"]

    monkeypatch.setitem(sys.modules, "notelock_test_fake_package", types.ModuleType("notelock_test_fake_package"))
    capture.get()
    assert calls == {"packages": 2, "threads": 2}
    capture.get()
    assert calls == {"packages": 2, "threads": 2}


def test_cached_get_is_cheap():
    capture = EnvironmentCapture()
    capture.get()
    start = time.perf_counter()
    for _ in range(20):
        capture.get()
    assert (time.perf_counter() - start) / 20 < 0.02


def _fake_nvidia_smi(folder: Path, body: str) -> None:
    folder.mkdir(exist_ok=True)
    script = folder / "nvidia-smi"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(0o755)


@pytest.mark.skipif(sys.platform == "win32", reason="shell script stands in for nvidia-smi")
def test_gpu_probe(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    assert EnvironmentCapture().get()["gpu"] is None  # no nvidia-smi

    _fake_nvidia_smi(bin_dir, "echo 'NVIDIA A100-SXM4-40GB, 550.54.15, 40960 MiB'")
    monkeypatch.setenv("PATH", str(bin_dir))
    assert EnvironmentCapture().get()["gpu"] == [
        {"name": "NVIDIA A100-SXM4-40GB", "driver": "550.54.15", "memory": "40960 MiB"}
    ]

    _fake_nvidia_smi(bin_dir, "echo 'NVIDIA-SMI has failed' ; exit 9")
    assert EnvironmentCapture().get()["gpu"] is None


@pytest.mark.skipif(sys.platform == "win32", reason="shell script stands in for nvidia-smi")
def test_gpu_probe_does_not_hang(tmp_path, monkeypatch):
    _fake_nvidia_smi(tmp_path / "bin", "exec sleep 30")
    monkeypatch.setenv("PATH", str(tmp_path / "bin") + os.pathsep + os.environ.get("PATH", ""))
    monkeypatch.setattr(environment, "_GPU_TIMEOUT_S", 0.3)
    start = time.perf_counter()
    assert EnvironmentCapture().get()["gpu"] is None
    assert time.perf_counter() - start < 5


def test_run_command_never_raises(tmp_path):
    assert run_command([str(tmp_path / "missing-binary")], timeout=1) is None
    assert run_command([sys.executable, "-c", "print('hi')"], timeout=30) == (0, "hi\n")


def _read_only_home(tmp_path: Path) -> Path:
    """A HOME nothing can be written under (see test_workflow.read_only_home)."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        blocker = tmp_path / "not_a_folder"
        blocker.write_text("")
        return blocker / "home"
    home = tmp_path / "ro_home"
    home.mkdir()
    home.chmod(stat.S_IRUSR | stat.S_IXUSR)
    return home


def test_read_only_home_and_no_tools(tmp_path, monkeypatch):
    home = _read_only_home(tmp_path)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    try:
        env = EnvironmentCapture(notebook_dir=tmp_path).get()
    finally:
        if home.exists():
            home.chmod(stat.S_IRWXU)
    assert set(env) == KEYS and env["packages"] and env["gpu"] is None


# -- RNG helpers -------------------------------------------------------------------


def test_rng_state_hash_tracks_random_state():
    state = random.getstate()
    try:
        before = rng_state_hash()
        assert before.startswith("xxh3_128:") and len(before) == len("xxh3_128:") + 32
        assert rng_state_hash() == before
        random.random()
        after = rng_state_hash()
        assert after != before
        random.setstate(state)
        assert rng_state_hash() == before
    finally:
        random.setstate(state)


def test_rng_state_hash_tracks_numpy_when_imported():
    np = pytest.importorskip("numpy")
    state = np.random.get_state()
    try:
        before = rng_state_hash()
        np.random.rand()
        assert rng_state_hash() != before
        np.random.set_state(state)
        assert rng_state_hash() == before
    finally:
        np.random.set_state(state)


def test_rng_state_hash_does_not_import_numpy():
    code = textwrap.dedent(
        """
        import sys
        from notelock.core.environment import rng_state_hash
        rng_state_hash()
        print("numpy" in sys.modules)
        """
    )
    src = str(Path(environment.__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=src + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "False"


def test_seed_everything(monkeypatch):
    rstate = random.getstate()
    np = pytest.importorskip("numpy")
    nstate = np.random.get_state()
    seeded = []
    fake_torch = types.SimpleNamespace(manual_seed=lambda n: seeded.append(n))
    monkeypatch.setitem(sys.modules, "torch", fake_torch)
    try:
        result = seed_everything(42)
        assert result == {"seed": 42, "seeded": ["random", "numpy", "torch"]}
        assert seeded == [42]
        draws = (random.random(), float(np.random.rand()))
        h = rng_state_hash()
        seed_everything(42)
        assert (random.random(), float(np.random.rand())) == draws
        seed_everything(42)
        assert rng_state_hash() != h  # h was taken after the draws
        random.random(), np.random.rand()
        assert rng_state_hash() == h
    finally:
        random.setstate(rstate)
        np.random.set_state(nstate)


@pytest.mark.parametrize("bad", [-1, 2**32, 1.5, "3", True])
def test_seed_everything_rejects_bad_seeds(bad):
    with pytest.raises(UsageError):
        seed_everything(bad)
