"""Gateway mode over HTTPS: a write through the TLS listener is shipped to the remote like any other."""

from __future__ import annotations

from pathlib import Path

from tests.access.test_tls import tls_client
from tests.gateway.conftest import own_gateway
from tests.support.server import free_port


def test_put_over_https_in_gateway_mode_reaches_the_remote(tmp_path: Path) -> None:
    port = free_port()
    with own_gateway(tmp_path, "--listen-tls", f"127.0.0.1:{port}", "--tls-self-signed") as gw:
        s3 = tls_client(f"https://127.0.0.1:{port}", str(gw.s3d.data / "tls" / "cert.pem"))
        s3.create_bucket(Bucket="gw-tls")
        s3.put_object(Bucket="gw-tls", Key="k", Body=b"shipped over tls")
        assert s3.get_object(Bucket="gw-tls", Key="k")["Body"].read() == b"shipped over tls"
        gw.flush()
        assert gw.remote.client().get_object(Bucket="gw-tls", Key="k")["Body"].read() == b"shipped over tls"
