"""Local servers Echo's notification channels talk to in tests.

* :class:`MailServer`: a real SMTP server (aiosmtpd) that insists on STARTTLS (with a certificate
  from a CA made here) and on a login, refuses the mailboxes in ``refused`` (550), and keeps every
  mail it accepted.
* :class:`ChatServer`: one aiohttp app answering as Slack's Web API (``chat.postMessage`` with a
  bot token), a Slack incoming webhook, a Microsoft Teams and a Google Chat webhook and any generic
  webhook; ``/down`` answers 503 and ``/gone`` 404.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections import defaultdict
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gennaker.host import free_port
from schemas.json_types import Json


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 / localhost signed by it: (ca, cert, key) files."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("gennaker test CA"))
        .issuer_name(_name("gennaker test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


@dataclass
class MailServer:
    """aiosmtpd on a free port: STARTTLS required, then AUTH LOGIN/PLAIN as ``user``/``password``."""

    directory: Path
    user: str = "echo"
    password: str = "s3cret"
    mails: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    refused: frozenset[str] = frozenset({"nobody@nowhere.example"})
    port: int = 0
    ca_file: Path | None = None
    _controller: Controller | None = None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.mails.append(mail)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            self.user.encode(),
            self.password.encode(),
        )
        return AuthResult(success=ok)

    def start(self) -> MailServer:
        ca, cert, key = make_certificates(self.directory)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        self.ca_file = ca
        self.port = free_port()
        self._controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=context,
            require_starttls=True,
            auth_required=True,
            auth_require_tls=True,
            authenticator=self._authenticate,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()


class ChatServer:
    """Records what each path received; Slack's ``chat.postMessage`` checks the bot token."""

    def __init__(self, slack_token: str = "xoxb-test") -> None:
        self.slack_token = slack_token
        self.received: defaultdict[str, list[Json]] = defaultdict(list)
        self.headers: defaultdict[str, list[dict[str, str]]] = defaultdict(list)
        self.attempts: defaultdict[str, int] = defaultdict(int)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/slack/api/chat.postMessage", self.post_message)
        app.router.add_post("/down", self.down)
        app.router.add_post("/gone", self.gone)
        app.router.add_post("/{path:.*}", self.record)
        return app

    async def post_message(self, request: web.Request) -> web.Response:
        self.attempts["slack-api"] += 1
        if request.headers.get("Authorization") != f"Bearer {self.slack_token}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        body = await request.json()
        if body.get("channel") == "#nowhere":
            return web.json_response({"ok": False, "error": "channel_not_found"})
        self.received["slack-api"].append(body)
        return web.json_response({"ok": True, "channel": "C123", "ts": "1.2"})

    async def down(self, request: web.Request) -> web.Response:
        self.attempts["down"] += 1
        self.headers["down"].append(dict(request.headers))
        return web.Response(status=503, text="maintenance")

    async def gone(self, request: web.Request) -> web.Response:
        self.attempts["gone"] += 1
        return web.Response(status=404, text="no such hook")

    async def record(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        self.attempts[path] += 1
        self.received[path].append(await request.json())
        self.headers[path].append(dict(request.headers))
        return web.Response(text="ok")
