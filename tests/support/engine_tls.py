"""Certificates for TLS tests of dockyardd, made with the ``openssl`` CLI: a CA, a server
certificate for 127.0.0.1 and a client certificate, as ``docker --tlsverify`` expects them
(``ca.pem``, ``cert.pem``, ``key.pem`` in one directory for the client)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

OPENSSL = "openssl"


@dataclass(frozen=True)
class TLSFiles:
    ca: Path
    server_cert: Path
    server_key: Path
    client_dir: Path  # ca.pem, cert.pem, key.pem


def _run(*args: str, cwd: Path) -> None:
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_tls(directory: Path) -> TLSFiles:
    d = directory
    d.mkdir(parents=True, exist_ok=True)
    _run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=dockyard-test-ca",
         "-keyout", "ca-key.pem", "-out", "ca.pem", cwd=d)
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    (d / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name in ("server", "client"):
        _run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", f"{name}-key.pem",
             "-out", f"{name}.csr", cwd=d)
        _run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
             "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}-cert.pem", cwd=d)
    client = d / "client"
    client.mkdir(exist_ok=True)
    shutil.copy(d / "ca.pem", client / "ca.pem")
    shutil.copy(d / "client-cert.pem", client / "cert.pem")
    shutil.copy(d / "client-key.pem", client / "key.pem")
    return TLSFiles(d / "ca.pem", d / "server-cert.pem", d / "server-key.pem", client)
