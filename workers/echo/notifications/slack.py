"""Slack notifications: an incoming webhook (an ``https://`` address) or ``chat.postMessage`` with a bot token.

The message is a fallback ``text`` plus Block Kit blocks: the title and text, the facts as fields,
and buttons linking to the execution in Deck (and to the judgment, for a manual judgment).
``chat.postMessage`` answers HTTP 200 with ``ok: false`` on errors: rate limits and Slack's own
trouble are retried, anything else (``channel_not_found``, ``not_in_channel``…) is permanent.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from bus import PermanentError
from gennaker.outbound import OutboundClient, OutboundRefused
from schemas.echo_notifications import Notification, NotificationSettings
from workers.echo.http_status import worth_retrying
from workers.echo.notifications.channel import DeliveryFailed, key_header, post_json

RETRYABLE_ERRORS = {"ratelimited", "service_unavailable", "fatal_error", "internal_error", "request_timeout"}


def blocks(notification: Notification) -> list[dict[str, Any]]:
    """Block Kit blocks for ``notification``."""
    text = f"*{notification.title}*\n{notification.text}"
    if notification.custom_text:
        text += f"\n{notification.custom_text}"
    result: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    if notification.facts:
        fields = [{"type": "mrkdwn", "text": f"*{name}*\n{value}"} for name, value in notification.facts.items()]
        result.append({"type": "section", "fields": fields[:10]})
    buttons = [{"type": "button", "text": {"type": "plain_text", "text": "View execution"}, "url": notification.link}]
    if notification.judgment_link:
        buttons.insert(
            0,
            {
                "type": "button",
                "style": "primary",
                "text": {"type": "plain_text", "text": "Judge"},
                "url": notification.judgment_link,
            },
        )
    result.append({"type": "actions", "elements": buttons})
    return result


class SlackChannel:
    """Posts to a Slack channel (bot token) or incoming webhook (the address is its URL)."""

    type = "slack"

    def __init__(self, settings: NotificationSettings, session: OutboundClient) -> None:
        self.settings = settings
        self.session = session

    def payload(self, notification: Notification) -> dict[str, Any]:
        return {"text": f"{notification.title} {notification.link}", "blocks": blocks(notification)}

    async def send(self, address: str, notification: Notification, *, idempotency_key: str) -> None:
        payload = self.payload(notification)
        timeout = self.settings.timeout
        if address.startswith(("https://", "http://")):
            await post_json(
                self.session, address, payload, timeout=timeout, what="slack webhook", idempotency_key=idempotency_key
            )
            return
        if not self.settings.slack_token:
            raise PermanentError("slack channel notifications need notifications.slack_token in the settings")
        channel = address if address.startswith(("#", "C", "G", "D", "@")) else f"#{address}"
        url = f"{self.settings.slack_api_url.rstrip('/')}/chat.postMessage"
        headers = {"Authorization": f"Bearer {self.settings.slack_token}", **key_header(idempotency_key)}
        try:
            async with self.session.post(
                url, json={"channel": channel, **payload}, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout)
            ) as response:
                status, body = response.status, await response.read()
        except OutboundRefused as refusal:
            raise PermanentError(f"slack: {refusal}") from refusal
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise DeliveryFailed(f"slack unreachable: {type(error).__name__}: {error}") from error
        if worth_retrying(status):
            raise DeliveryFailed(f"slack answered HTTP {status}")
        try:
            answer = json.loads(body)
        except ValueError as error:
            raise DeliveryFailed(f"slack answered HTTP {status} without JSON") from error
        if not answer.get("ok"):
            error_name = str(answer.get("error") or f"HTTP {status}")
            if error_name in RETRYABLE_ERRORS:
                raise DeliveryFailed(f"slack chat.postMessage to {channel}: {error_name}")
            raise PermanentError(f"slack chat.postMessage to {channel} failed: {error_name}")
