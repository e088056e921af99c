"""A self-signed certificate for one address (127.0.0.1 and localhost unless told), made with openssl for tests
that serve HTTPS."""

from __future__ import annotations

import subprocess
from pathlib import Path


def self_signed(directory: Path, address: str = "127.0.0.1") -> tuple[Path, Path]:
    """(certificate, key) in PEM, valid a day; the certificate is also what a client verifies against."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            f"/CN={address}",
            "-addext",
            f"subjectAltName=IP:{address},DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key
