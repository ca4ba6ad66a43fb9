"""The team store and remote reads against a real S3-compatible server on loopback.

Starts moto's standalone server (``python -m moto.server``) as its own process
and measures, through s3fs over HTTP:

* publishing an object (stream to a temporary key, server-side copy) against
  a plain ``put_file`` of the same bytes;
* the first read of it on another "machine" (download + verify into the
  local tier) against the second read (local tier only);
* the extra streaming hash pass of a remote ``read_csv`` against the read
  itself.

Loopback to an in-memory server measures notelock's overhead, not a network:
real S3 adds latency per request and bandwidth limits to both sides alike.

Run: ``python -m bench.team [--mb 64] [--csv-mb 20]``.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any


def _server() -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=2)
            return proc, endpoint
        except Exception:  # noqa: BLE001 - not up yet
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("moto server did not start") from None
            time.sleep(0.2)


def _best(fn: Any, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_team(mb: int = 64, csv_mb: int = 20) -> list[dict[str, Any]]:
    """Rows for ``python -m bench``'s table."""
    import pandas as pd
    import s3fs

    from notelock.core.remote_reads import describe_url
    from notelock.core.remote_store import RemoteStore

    proc, endpoint = _server()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench-secret",
                      AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=endpoint)
    try:
        fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": endpoint, "region_name": "us-east-1"})
        fs.call_s3("create_bucket", Bucket="bench")
        fs.call_s3("put_bucket_versioning", Bucket="bench", VersioningConfiguration={"Status": "Enabled"})
        rows: list[dict[str, Any]] = []
        with tempfile.TemporaryDirectory(prefix="notelock-bench-team-") as tmp:
            work = Path(tmp)
            blobs = [work / f"blob{i}.bin" for i in range(3)]
            for blob in blobs:
                blob.write_bytes(os.urandom(mb << 20))
            it = iter(blobs)
            publish = _best(lambda: RemoteStore("s3://bench/store", local_root=work / "a").put_file(next(it)))
            plain = _best(lambda: fs.put_file(str(blobs[0]), "bench/plain.bin"))
            rows.append({"what": f"publish a {mb} MiB object (temporary key + copy)", "notelock": publish,
                         "unit": "s", "peer_name": "s3fs put_file", "peer": plain, "ratio": publish / plain})
            digest = RemoteStore("s3://bench/store", local_root=work / "a").put_file(blobs[0])
            tiers = iter(range(10))

            def first_read() -> None:
                RemoteStore("s3://bench/store", local_root=work / f"b{next(tiers)}").path(digest)

            first = _best(first_read)
            reader = RemoteStore("s3://bench/store", local_root=work / "c")
            reader.path(digest)
            second = _best(lambda: RemoteStore("s3://bench/store", local_root=work / "c").path(digest))
            rows.append({"what": "first read of it on another machine (download + verify)", "notelock": first,
                         "unit": "s", "peer_name": "second read (local tier, verified)", "peer": second,
                         "ratio": first / second if second else None})
            n = max(1, (csv_mb << 20) // 15)  # about 15 bytes a row
            frame = pd.DataFrame({"amount": [i * 0.37 for i in range(n)], "hour": [i % 24 for i in range(n)]})
            fs.pipe_file("bench/data/t.csv", frame.to_csv(index=False).encode())
            size_mb = fs.info("bench/data/t.csv")["size"] / (1 << 20)
            read = _best(lambda: pd.read_csv("s3://bench/data/t.csv"))
            hashed = _best(lambda: describe_url("s3://bench/data/t.csv"))
            rows.append({"what": f"identify a {size_mb:.0f} MiB remote CSV (version + streamed hash)",
                         "notelock": hashed, "unit": "s", "peer_name": "pd.read_csv of it", "peer": read,
                         "ratio": hashed / read})
        return rows
    finally:
        proc.terminate()
        proc.wait(10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.team", description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=64)
    parser.add_argument("--csv-mb", type=int, default=20)
    args = parser.parse_args(argv)
    for row in bench_team(args.mb, args.csv_mb):
        ratio = f"{row['ratio']:.2f}×" if row.get("ratio") else "—"
        print(f"{row['what']}: {row['notelock']:.3f} s; {row['peer_name']}: {row['peer']:.3f} s ({ratio})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
