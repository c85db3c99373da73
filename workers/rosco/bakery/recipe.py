"""A bake request to what Packer runs, as Rosco's ``CloudProviderBakeHandler`` builds it.

The provider's ``bakeryDefaults`` give the base image (``baseOs``; unknown: Rosco's "No
virtualization settings found for 'x'.") and its settings in the region, then the template
(the request's ``template_file_name``, else the base image's, else the provider's) inside the
config directory. The command is Rosco's: ``packer build -color=false -var k=v … [-var-file=…]
template``, its variables the region's virtualization settings, the image name and app version
(:mod:`.packages`), ``packages``, ``package_type``, ``repository``, ``configDir``, the build's
``build_info_url`` and the request's ``extended_attributes``.

The bake key says which requests are the same bake (Rosco's ``produceBakeKey``: provider, base
OS and image, image name, template and var file, packages, then region, vm type and store
type); Gennaker adds the application, so one application's bake never answers another's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from schemas.rosco import BakeRequestBody, BaseImageSettings, ProviderBakeryDefaults, VirtualizationSettings
from workers.rosco.bakery import packages


class BakeRefused(Exception):
    """The request cannot bake; nothing was stored. ``status`` is HTTP-like, ``field`` the culprit."""

    def __init__(self, reason: str, field: str | None = None, status: Literal[400, 403, 404, 409, 422] = 400) -> None:
        super().__init__(reason)
        self.reason, self.field, self.status = reason, field, status


@dataclass(frozen=True)
class BakeRecipe:
    """What a bake runs: the image it names, the app version, Packer's argv and its variables."""

    name: str
    version: str | None
    command: list[str]
    parameters: dict[str, str]
    cloud_provider: str


@dataclass(frozen=True)
class Bakery:
    """The ``bakeryDefaults`` of every provider, the templates' directory and how to run Packer."""

    defaults: dict[str, ProviderBakeryDefaults]
    config_dir: Path
    packer: str = "packer"
    default_cloud_provider: str = "local"
    images_dir: Path | None = None
    local_repository: Path | None = None

    def provider(self, request: BakeRequestBody) -> tuple[str, ProviderBakeryDefaults]:
        """The request's cloud provider and its defaults."""
        name = request.cloud_provider_type or self.default_cloud_provider
        if name not in self.defaults:
            known = ", ".join(sorted(self.defaults))
            raise BakeRefused(f"Unknown provider type '{name}'. Known: {known}.", "cloud_provider_type")
        return name, self.defaults[name]

    def base_image(self, request: BakeRequestBody) -> BaseImageSettings:
        """The base image ``base_os`` names (Rosco's ``findBaseImage``)."""
        _, defaults = self.provider(request)
        for settings in defaults.base_images:
            if settings.base_image.id == request.base_os:
                return settings
        raise BakeRefused(f"No virtualization settings found for '{request.base_os}'.", "base_os")

    def virtualization(self, region: str, request: BakeRequestBody) -> VirtualizationSettings:
        """The base image's settings in ``region`` (and ``vm_type``, when asked)."""
        for settings in self.base_image(request).virtualization_settings:
            if settings.region == region and (not request.vm_type or settings.vm_type in (None, request.vm_type)):
                return settings
        raise BakeRefused(
            f"No virtualization settings found for region '{region}', operating system '{request.base_os}', "
            f"and vm type '{request.vm_type}'.",
            "region",
        )

    def template(self, request: BakeRequestBody) -> Path:
        """The template inside the config directory; a name outside it or absent is refused."""
        _, defaults = self.provider(request)
        name = request.template_file_name or self.base_image(request).base_image.template_file or defaults.template_file
        return self._inside(name, "template_file_name")

    def _inside(self, name: str, field: str) -> Path:
        root = self.config_dir.resolve()
        path = (root / name).resolve()
        if root not in path.parents or not path.is_file():
            raise BakeRefused(f"No template file found for '{name}' in the bakery's config directory.", field)
        return path

    def bake_key(self, region: str, request: BakeRequestBody, application: str) -> str:
        """Which requests are the same bake (see the module docstring)."""
        provider, _ = self.provider(request)
        keys = [
            "bake",
            provider,
            request.base_os,
            request.base_ami,
            request.ami_name,
            request.template_file_name,
            request.var_file_name,
        ]
        found = [str(key) for key in keys if key]
        found.append("|".join(request.package_name.split()))
        extras = ",".join(f"{k}={v}" for k, v in sorted(request.extended_attributes.items()))
        found.extend([region, request.vm_type or "", request.store_type or "", extras, f"app={application}"])
        return ":".join(found)

    def recipe(self, region: str, request: BakeRequestBody, *, now_ms: int | None = None) -> BakeRecipe:
        """Rosco's ``produceBakeRecipe``: the image name and the Packer command; :class:`BakeRefused` if not."""
        provider, _ = self.provider(request)
        settings = self.virtualization(region, request)
        base = self.base_image(request).base_image
        parsed = packages.parse_all(base.package_type, request.package_name)
        name = packages.image_name(request, parsed, now_ms)
        version = packages.app_version(request, parsed[0] if parsed else None)
        parameters: dict[str, str] = {
            str(key): _text(value) for key, value in (settings.model_extra or {}).items() if value is not None
        }
        parameters.update(
            region=region,
            image_name=name,
            base_os=base.id,
            package_type=base.package_type,
            packages=packages.packages_parameter(base.package_type, parsed),
            configDir=str(self.config_dir.resolve()),
        )
        if settings.vm_type:
            parameters["vm_type"] = settings.vm_type
        if version:
            parameters["appversion"] = version
        if request.build_info_url:
            parameters["build_info_url"] = request.build_info_url
        if request.build_host:
            parameters["build_host"] = request.build_host
        if request.upgrade:
            parameters["upgrade"] = "true"
        if request.base_ami:
            parameters["source_image"] = request.base_ami
        if provider == "local":
            if self.images_dir is not None:
                parameters["images_dir"] = str(self.images_dir)
            if self.local_repository is not None:
                parameters["repository"] = str(self.local_repository)
        for key, value in request.extended_attributes.items():
            if key in ("copy_to", "share_with"):
                for index, each in enumerate(value.split(","), start=1):
                    parameters[f"{key}_{index}"] = each.strip()
            else:
                parameters[key] = value
        command = [self.packer, "build", "-color=false"]
        for key, value in parameters.items():
            command += ["-var", f"{key}={value}"]
        if request.var_file_name:
            command.append(f"-var-file={self._inside(request.var_file_name, 'var_file_name')}")
        command.append(str(self.template(request)))
        return BakeRecipe(name=name, version=version, command=command, parameters=parameters, cloud_provider=provider)

    def options(self, provider: str | None = None) -> list[dict[str, object]]:
        """Rosco's ``BakeOptions``: per provider, its base images (``vmTypes`` from their settings)."""
        names = [provider] if provider else sorted(self.defaults)
        found: list[dict[str, object]] = []
        for name in names:
            defaults = self.defaults.get(name)
            if defaults is None:
                continue
            images = []
            for settings in defaults.base_images:
                image = settings.base_image.model_dump(by_alias=True, exclude_none=True, exclude={"template_file"})
                vm_types = sorted({s.vm_type for s in settings.virtualization_settings if s.vm_type})
                if vm_types:
                    image["vmTypes"] = vm_types
                image["regions"] = [s.region for s in settings.virtualization_settings]
                images.append(image)
            found.append({"cloudProvider": name, "baseImages": images})
        return found


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
