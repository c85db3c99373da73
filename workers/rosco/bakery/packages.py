"""Rosco's package rules: deb and rpm names parsed, the app version and the image name built from them.

A deb is ``name_version-release_arch`` (``hello_1.2-h3_all``), an rpm ``name-version-release.arch``
(``hello-1.2-h3.noarch``). The packages Packer installs are ``name=version-release`` (deb) or
``name-version-release`` (rpm), or the bare name without a version. The image is named
``<amiName or first package>-<arch or all>-<amiSuffix or millis>-<baseOs>``; the app version
(``hello-1.2-h7.abc123/job/7``, Frigga's ``AppVersion``) comes from the first package and the
build's number, commit and job, and is ``None`` when it would not parse.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from schemas.rosco import BakeRequestBody, PackageType

APP_VERSION = re.compile(r"^([\w-]+?)-((?:\d+\.)*\d+[\w~+.]*?)(?:-h(\d+))?(?:\.([A-Za-z0-9]+))?(?:/([\w.-]+)/(\d+))?$")
"""Frigga's ``AppVersion``: name, version, optional ``-h<build>``, ``.<commit>``, ``/<job>/<build>``."""


@dataclass(frozen=True)
class OsPackageName:
    """One package name, parsed."""

    name: str
    version: str | None = None
    release: str | None = None
    arch: str | None = None

    def qualified(self, package_type: PackageType) -> str:
        """What the package manager installs: with its version when it has one."""
        if not self.version:
            return self.name
        separator = "-" if package_type == "rpm" else "="
        return f"{self.name}{separator}{self.version}{'-' + self.release if self.release else ''}"


def parse(package_type: PackageType, full_name: str) -> OsPackageName:
    """``full_name`` by the rules of ``package_type`` (``tar`` packages are named as debs)."""
    if package_type == "rpm":
        name, arch, release, version = full_name, None, None, None
        dotted = full_name.split(".")
        if len(dotted) >= 2:
            full_name, arch = ".".join(dotted[:-1]), dotted[-1]
        parts = full_name.split("-")
        if len(parts) >= 3:
            name, version, release = "-".join(parts[:-2]), parts[-2], parts[-1]
        return OsPackageName(name, version, release, arch)
    parts = full_name.split("_")
    if len(parts) == 1:
        return OsPackageName(full_name)
    version, _, release = parts[1].partition("-")
    return OsPackageName(parts[0], version or None, release or None, parts[2] if len(parts) > 2 else None)


def parse_all(package_type: PackageType, names: str) -> list[OsPackageName]:
    """The space-separated ``names``, parsed, empty ones dropped."""
    return [parsed for token in names.split() if (parsed := parse(package_type, token)).name]


def app_version(request: BakeRequestBody, package: OsPackageName | None) -> str | None:
    """Frigga's app version of the first package, or ``None`` when it would not parse."""
    if package is None:
        return None
    version = package.name
    if package.version:
        version += f"-{package.version}"
        if request.build_number:
            version += f"-h{request.build_number}"
            if request.commit_hash:
                version += f".{request.commit_hash}"
            if request.job:
                version += f"/{request.job.replace('/', '-')}/{request.build_number}"
    return version if APP_VERSION.match(version) else None


def image_name(request: BakeRequestBody, packages: list[OsPackageName], now_ms: int | None = None) -> str:
    """Rosco's ``ImageNameFactory``: ``<amiName|package>-<arch|all>-<amiSuffix|millis>-<baseOs>``."""
    first = packages[0] if packages else None
    base = request.ami_name or (first.name if first else "")
    arch = (first.arch if first else None) or "all"
    release = request.ami_suffix or str(now_ms if now_ms is not None else int(time.time() * 1000))
    return "-".join(part for part in (base, arch, release, request.base_os) if part)


def packages_parameter(package_type: PackageType, packages: list[OsPackageName]) -> str:
    """The ``packages`` Packer variable: each package as its manager installs it, space-separated."""
    return " ".join(package.qualified(package_type) for package in packages)
