#!/bin/sh
# The local template's one step: an image for the local provider is a directory
# <IMAGES_DIR>/<REGION>/<IMAGE_NAME>/ holding the packages' files (app/) and image.json (how to run them).
# Each package (name=version-release, or a bare name) is <REPOSITORY>/<name>_<version>*.tar.gz, or such a
# directory, or <REPOSITORY>/<name>[.tar.gz]. The image is built beside its place and renamed into it, so a
# bake run again after a crash replaces it whole.
set -eu
: "${IMAGES_DIR:?images_dir is not set (rosco.imagesDir)}" "${IMAGE_NAME:?image_name is not set}"
[ -n "$PACKAGES" ] || { echo "local bake: no packages to install (the stage's 'package')" >&2; exit 1; }
target="$IMAGES_DIR/$REGION/$IMAGE_NAME"
work="$IMAGES_DIR/$REGION/.$IMAGE_NAME.$$"
mkdir -p "$work/app"
trap 'rm -rf "$work"' EXIT
for package in $PACKAGES; do
  name="${package%%=*}"
  version=""
  [ "$name" = "$package" ] || version="${package#*=}"
  found=""
  if [ -n "$version" ]; then set -- "$REPOSITORY/${name}_${version}"*; else set --; fi
  for candidate in "$@" "$REPOSITORY/${name}.tar.gz" "$REPOSITORY/$name"; do
    [ -e "$candidate" ] && { found="$candidate"; break; }
  done
  [ -n "$found" ] || { echo "local bake: package $package is not in the repository $REPOSITORY" >&2; exit 1; }
  echo "Installing $package from $found"
  case "$found" in
    *.tar.gz|*.tgz) tar -xzf "$found" -C "$work/app" ;;
    *) cp -R "$found/." "$work/app/" ;;
  esac
done
[ -e "$work/app/$ENTRYPOINT" ] || { echo "local bake: the packages hold no entrypoint $ENTRYPOINT" >&2; exit 1; }
if [ "$RUNNER" = "python" ]; then
  command="[\"{python}\", \"$ENTRYPOINT\"]"
else
  command="[\"./$ENTRYPOINT\"]"
fi
created=$(date +%s)
cat > "$work/image.json" <<JSON
{"name": "$IMAGE_NAME", "region": "$REGION", "baseOs": "$BASE_OS", "packages": "$PACKAGES",
 "appVersion": "$APP_VERSION", "buildInfoUrl": "$BUILD_INFO_URL", "command": $command, "createdTime": $created}
JSON
rm -rf "$target"
mv "$work" "$target"
trap - EXIT
echo "Created local image: $IMAGE_NAME at $target"
