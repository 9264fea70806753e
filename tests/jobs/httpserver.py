"""A small real HTTP(S) server on loopback for download tests: routes are plain functions."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

Route = Callable[[BaseHTTPRequestHandler], None]


class _Handler(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, Route]] = {}
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        route = self.routes.get(self.path.split("?")[0])
        if route is None:
            self.send_error(404)
            return
        # The client may hang up on purpose (a cap or a deadline): that is the test.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, ssl.SSLError):
            route(self)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a handler still trickling must not hold the test up

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        if ipaddress.ip_address(address[0]).version == 6:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)
        self.stopping = threading.Event()


@contextmanager
def serve(
    routes: dict[str, Route],
    host: str = "127.0.0.1",
    tls: ssl.SSLContext | None = None,
    port: int = 0,
) -> Iterator[tuple[str, list[str]]]:
    """Serve `routes` (on `port`, or any free one); yields the base URL and the list of paths
    requested."""

    class Handler(_Handler):
        pass

    Handler.routes = routes
    Handler.hits = []
    server = _Server((host, port), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    scheme = "https" if tls else "http"
    shown = f"[{host}]" if ":" in host else host
    try:
        yield f"{scheme}://{shown}:{server.server_address[1]}", Handler.hits
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()


def body(data: bytes, content_type: str = "audio/ogg", length: int | None = None) -> Route:
    """A 200 answer with `data`; `length` makes the Content-Length lie."""

    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data) if length is None else length))
        h.end_headers()
        h.wfile.write(data)

    return route


def redirect(location: str, status: int = 302) -> Route:
    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return route


def status(code: int) -> Route:
    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(code)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return route


def stream(
    chunk: bytes, count: int, delay_s: float = 0.0, before_each: Callable[[], None] | None = None
) -> Route:
    """A body without Content-Length: `count` chunks, `delay_s` apart."""

    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "audio/mpeg")
        h.end_headers()
        for _ in range(count):
            if before_each is not None:
                before_each()
            h.wfile.write(chunk)
            h.wfile.flush()
            if delay_s:
                time.sleep(delay_s)

    return route


def trickle(raw: bytes, delay_s: float) -> Route:
    """Raw bytes (status line and headers included), one byte every `delay_s`."""

    def route(h: BaseHTTPRequestHandler) -> None:
        stopping: threading.Event = h.server.stopping  # type: ignore[attr-defined]
        for byte in raw:
            h.wfile.write(bytes([byte]))
            h.wfile.flush()
            if stopping.wait(delay_s):
                return

    return route


def stall(head: bytes = b"") -> Route:
    """Send `head` raw, then say nothing until the server stops."""

    def route(h: BaseHTTPRequestHandler) -> None:
        h.wfile.write(head)
        h.wfile.flush()
        h.server.stopping.wait(30)  # type: ignore[attr-defined]

    return route


def recording(into: list[dict[str, str]], then: Route) -> Route:
    """Remember each request's headers, then answer with `then`."""

    def route(h: BaseHTTPRequestHandler) -> None:
        into.append(dict(h.headers.items()))
        then(h)

    return route


@dataclass(frozen=True)
class TLSFiles:
    ca: Path  # the test authority's certificate: what a client must trust
    context: ssl.SSLContext  # the server side, holding a certificate for the given names


def tls_for(names: list[str], folder: Path) -> TLSFiles:
    """A throwaway certificate authority and a server certificate for `names`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    ca_usage = x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
        encipher_only=False, decipher_only=False,
    )  # fmt: skip
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relayq test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(ca_usage, critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = folder / "ca.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    chain_path = folder / "server.pem"
    chain_path.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain_path)
    return TLSFiles(ca=ca_path, context=context)
