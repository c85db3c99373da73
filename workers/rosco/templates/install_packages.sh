#!/bin/sh
# Installs the bake's packages on the machine Packer builds (aws, gce and docker templates):
# $packages (name=version-release for debs, name-version-release for rpms), from $repository when given.
set -eu
if [ "$package_type" = "deb" ]; then
  if [ -n "${repository:-}" ]; then echo "deb $repository" | sudo tee /etc/apt/sources.list.d/bake.list >/dev/null; fi
  sudo apt-get update -q
  [ "${upgrade:-false}" = "true" ] && sudo DEBIAN_FRONTEND=noninteractive apt-get upgrade -y -q
  # shellcheck disable=SC2086
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q --force-yes $packages
else
  if [ -n "${repository:-}" ]; then printf '[bake]\nname=bake\nbaseurl=%s\ngpgcheck=0\n' "$repository" | sudo tee /etc/yum.repos.d/bake.repo >/dev/null; fi
  [ "${upgrade:-false}" = "true" ] && sudo yum -y update
  # shellcheck disable=SC2086
  sudo yum -y install $packages
fi
