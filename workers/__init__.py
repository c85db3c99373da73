"""One package per Gennaker service; each imports ``bus``, ``schemas`` and itself, never a sibling."""
