"""``python -m gateway.auth``: print a new API token and the ``token_sha256`` to configure for it."""

from gateway.auth.tokens import main

main()
