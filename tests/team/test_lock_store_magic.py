"""``%lock store URL`` in a real kernel: the session's snapshots go to the S3 store."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from s3_utils import S3Server

from kernel_utils import Kernel
from notelock.core.lockfile import load_lock

pytestmark = [pytest.mark.kernel, pytest.mark.slow]


def test_lock_store_url_sends_this_sessions_snapshots_to_the_shared_store(tmp_path: Path, bucket: str,
                                                                           s3_server: S3Server):
    pd.DataFrame({"amount": [3.5, 1.0]}).to_csv(tmp_path / "data.csv", index=False)
    url = f"s3://{bucket}/team"
    kernel = Kernel(tmp_path, env={**s3_server.env, "NOTELOCK_STORE": "",
                                   "XDG_CACHE_HOME": str(tmp_path / "cache")})
    try:
        kernel.ok("%load_ext notelock\nimport pandas as pd")
        shown = kernel.ok(f"%lock store {url}")["stdout"]
        assert shown.startswith(f"notelock: store {url} (0 B held locally in {tmp_path / 'cache'}")
        out = kernel.ok("%%lock --snapshot\ndf = pd.read_csv('data.csv')")
        assert "not pinned" not in out["stdout"] + out["stderr"]
    finally:
        kernel.shutdown()
    [node] = [n for n in load_lock(tmp_path / "scratch.lock.json")["nodes"].values() if n["op"] == "read"]
    hx = node["snapshot"].split(":")[1]
    fs = s3_server.filesystem()
    assert fs.cat_file(f"{bucket}/team/objects/{hx[:2]}/{hx[2:]}") == (tmp_path / "data.csv").read_bytes()
    assert not (tmp_path / ".notelock" / "objects").exists()
