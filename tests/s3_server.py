"""A local S3 for tests: moto's server mode on loopback, as the session fixture ``s3_server``.

The fixture starts ``moto.server.ThreadedMotoServer`` on 127.0.0.1 with a free port, points the
AWS SDK at it through the standard environment (fake ``AWS_ACCESS_KEY_ID``/secret, region and
``AWS_ENDPOINT_URL_S3``, which strom's fsspec storage reads), creates a bucket, yields its URL
(``s3://strom-test``) and stops the server after the session. Tests that need S3 request it
through ``request.getfixturevalue("s3_server")`` so the server starts only when one runs; it is
skipped when moto or s3fs is not installed (``pip install -e '.[test]'``).
"""
from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

BUCKET = "strom-test"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """The URL of an empty bucket on a moto S3 server on loopback, for the whole session."""
    pytest.importorskip("s3fs")
    server_mod = pytest.importorskip("moto.server")
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL_S3": endpoint,
           "NO_PROXY": ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1"]))}
    try:
        with pytest.MonkeyPatch.context() as mp:
            for name, value in env.items():
                mp.setenv(name, value)
            import boto3

            boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
            yield f"s3://{BUCKET}"
    finally:
        server.stop()
