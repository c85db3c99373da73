"""Email notifications over SMTP, with STARTTLS and login when configured.

The standard library's ``smtplib`` runs in a worker thread, so a slow mail server never blocks the
event loop. ``address`` may list several recipients (comma separated); Echo splits them into one
delivery each before they get here.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage

from bus import PermanentError
from schemas.echo_notifications import Notification, NotificationSettings
from workers.echo.notifications.channel import DeliveryFailed


class EmailChannel:
    """Sends each notification as a plain-text email with an HTML alternative."""

    type = "email"

    def __init__(self, settings: NotificationSettings) -> None:
        self.settings = settings

    def message(self, address: str, notification: Notification, *, idempotency_key: str) -> EmailMessage:
        """The email for ``notification``: the title as subject, the text and link as body; its
        ``Message-ID`` is derived from the delivery, so a resent copy is recognisably the same email."""
        email = EmailMessage()
        domain = self.settings.smtp_from.rpartition("@")[2] or "gennaker"
        email["Message-ID"] = f"<{idempotency_key}@{domain}>"
        email["From"] = self.settings.smtp_from
        email["To"] = address
        email["Subject"] = notification.title
        lines = [notification.text, ""]
        if notification.custom_text:
            lines += [notification.custom_text, ""]
        lines += [f"{name}: {value}" for name, value in notification.facts.items()]
        if notification.judgment_link:
            lines += ["", f"Judge it: {notification.judgment_link}"]
        lines += ["", f"Execution: {notification.link}"]
        email.set_content("\n".join(lines))
        return email

    async def send(self, address: str, notification: Notification, *, idempotency_key: str) -> None:
        if not self.settings.smtp_host:
            raise PermanentError("email notifications need notifications.smtp_host in the settings")
        email = self.message(address, notification, idempotency_key=idempotency_key)
        await asyncio.to_thread(self._send, email)

    def _send(self, email: EmailMessage) -> None:
        settings = self.settings
        assert settings.smtp_host is not None
        try:
            with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.timeout) as smtp:
                if settings.smtp_starttls:
                    smtp.starttls(context=ssl.create_default_context(cafile=settings.smtp_ca_file))
                if settings.smtp_user:
                    smtp.login(settings.smtp_user, settings.smtp_password or "")
                smtp.send_message(email)
        except smtplib.SMTPAuthenticationError as error:
            raise PermanentError(f"the SMTP server refused the login of {settings.smtp_user!r}: {error}") from error
        except smtplib.SMTPRecipientsRefused as error:
            raise PermanentError(f"the SMTP server refused the recipient: {error.recipients}") from error
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryFailed(f"SMTP delivery failed: {type(error).__name__}: {error}") from error
