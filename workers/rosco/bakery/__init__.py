"""Rosco's image bakery: Packer bakes from ``bakeryDefaults``, cached by bake key, run at most N at once.

* :mod:`.packages` — Rosco's deb/rpm package-name rules, app versions and image names;
* :mod:`.recipe` — a bake request to a bake key and a Packer command (``bakeryDefaults``);
* :mod:`.packer` — the Packer process, its output streamed, its results scraped;
* :mod:`.store` — bakes and bake keys (``rosco_bakes``, ``rosco_bake_keys``);
* :mod:`.runner` — the queue of bakes: at most ``maxConcurrentBakes`` Packers, leases, recovery;
* :mod:`.handlers` — the commands and queries behind Gate, and Orca's ``bake`` stage task.
"""
