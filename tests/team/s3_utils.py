"""Helpers of the team-store tests: the S3 server's handle and the test secret."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

#: a secret that must never appear in a lock, a message or a store object
SECRET = "nl-test-secret-4f1d9c2b7a"


@dataclass
class S3Server:
    endpoint: str
    env: dict[str, str]

    def filesystem(self) -> Any:
        import s3fs

        return s3fs.S3FileSystem(key=self.env["AWS_ACCESS_KEY_ID"], secret=SECRET,
                                 client_kwargs={"endpoint_url": self.endpoint,
                                                "region_name": "us-east-1"},
                                 skip_instance_cache=True)

    def bucket(self) -> str:
        """A new bucket, with object versioning enabled."""
        name = f"team-{uuid.uuid4().hex[:10]}"
        fs = self.filesystem()
        fs.call_s3("create_bucket", Bucket=name)
        fs.call_s3("put_bucket_versioning", Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return name


