"""Who is calling (authentication) and what they may do (authorisation, as Spinnaker's Fiat does)."""

from gateway.auth.model import Permission, Principal, can

__all__ = ["Permission", "Principal", "can"]
