"""The corpus's fast subset, built once per test session into a temporary folder.

The subset's notebooks come from PyPI source distributions only (the
registry is all the build needs). Without the ``corpus`` extra the tests
fail, loudly: they are CI's check that notelock leaves real notebooks'
outputs alone.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

#: what the corpus needs beyond notelock's own dependencies (pyproject.toml's ``corpus`` extra)
CORPUS_MODULES = ("jupytext", "matplotlib", "seaborn", "statsmodels", "imblearn", "lightgbm")


def missing_corpus_modules() -> list[str]:
    missing = []
    for name in CORPUS_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


@pytest.fixture(scope="session")
def corpus_extra() -> None:
    missing = missing_corpus_modules()
    if missing:
        pytest.fail(f"the corpus extra is not installed (missing: {', '.join(missing)}): "
                    "pip install -e \".[corpus]\"", pytrace=False)


@pytest.fixture(scope="session")
def ci_corpus(tmp_path_factory: pytest.TempPathFactory, corpus_extra: None) -> tuple[Path, list[str]]:
    """(build directory, names) of the CI subset, built once per session;
    the source distributions are downloaded once per session too."""
    from bench.corpus import build

    manifest = build.load_manifest()
    selection = manifest.select(ci=True)
    out = tmp_path_factory.mktemp("corpus")
    results = build.build(out, manifest, selection, cache=tmp_path_factory.mktemp("corpus-downloads"),
                          log=lambda m: None)
    failed = [f"{r.name}: {r.detail}" for r in results if r.status != "built"]
    assert not failed, failed
    return out, [r.name for r in results]
