"""``python -m gateway.auth``: print a new API token and its ``token_sha256`` (``--help`` says more).

``gennaker auth token create`` does the same and also prints the settings entry for the user.
"""

import argparse

from gateway.auth.tokens import main

argparse.ArgumentParser(
    prog="python -m gateway.auth",
    description="Print a new API token for static authentication and the token_sha256 to put in the settings. "
    "`gennaker auth token create --username NAME --role ROLE` does the same and also prints the "
    "[[auth.users]] entry ready to paste; see its --help.",
).parse_args()
main()
