#!/usr/bin/env bash
# Make the registry's image, stack-example/registry:2.8, with no registry
# to pull from: Debian's docker-registry (the CNCF Distribution registry)
# and the libraries it links, packed with `docker import`, plus a static
# busybox for the healthcheck (`nc`). Idempotent.
set -euo pipefail

image=stack-example/registry:2.8
if docker image inspect "$image" >/dev/null 2>&1; then
  exit 0
fi
binary=/usr/bin/docker-registry
if [ ! -x "$binary" ]; then
  echo "installing Debian's docker-registry to pack it" >&2
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq docker-registry >/dev/null
fi

busybox=/bin/busybox
if ! { [ -x "$busybox" ] && ! ldd "$busybox" >/dev/null 2>&1; }; then
  echo "installing busybox-static for the healthcheck" >&2
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq busybox-static >/dev/null
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/bin" "$root/bin" "$root/etc" "$root/tmp" "$root/var/lib/registry"
cp "$busybox" "$root/bin/busybox"
chmod 1777 "$root/tmp"
cp "$binary" "$root/usr/bin/"
# The libraries it links (libc and the loader), at the paths it looks for.
for lib in $(ldd "$binary" | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
printf 'root:x:0:0:root:/root:/bin/false\n' >"$root/etc/passwd"
tar -C "$root" -c . | docker import \
  -c 'ENTRYPOINT ["/usr/bin/docker-registry"]' \
  -c 'CMD ["serve", "/etc/docker/registry/config.yml"]' \
  -c 'EXPOSE 5000' \
  - "$image" >/dev/null
echo "made $image from $binary" >&2
