"""A relayed reply reaches the client with its secrets hidden, however often the same bytes come back."""

from __future__ import annotations

import json

from gateway.relay import HiddenReplies
from schemas.secrets import MARKER


def test_a_reply_naming_no_secret_is_relayed_as_it_is() -> None:
    replies = HiddenReplies()
    text = b'[{"name":"deploy","stages":[]}]'
    assert replies.hide(text) is text
    assert replies.hide(bytes(bytearray(text))) is text  # equal bytes: remembered
    assert len(replies) == 1


def test_secrets_are_hidden_every_time_and_the_memo_stays_bounded() -> None:
    replies = HiddenReplies(max_bytes=8 * 1024)
    text = json.dumps([{"name": "p", "triggers": [{"type": "webhook", "secret": "s3cret"}]}]).encode()
    for _ in range(2):
        hidden = json.loads(replies.hide(text))
        assert hidden[0]["triggers"][0]["secret"] == MARKER
    for number in range(100):
        replies.hide(json.dumps([{"name": f"p{number}", "pad": "x" * 200}]).encode())
    assert 0 < len(replies) < 100
    assert replies._bytes <= replies.max_bytes
    big = b'["' + b"x" * 2048 + b'"]'
    assert replies.hide(big) is big and big not in replies._hidden  # above an eighth: never kept
