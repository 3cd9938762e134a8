#!/usr/bin/env bash
# Make sure the image the examples and tests use, busybox:1.36, exists.
# Where a registry is reachable it is pulled; where none is (air-gapped
# hosts, CI here), it is made locally from Debian's busybox-static with
# `docker import`. Idempotent: does nothing when the image is present.
set -euo pipefail

image=${STACK_TEST_IMAGE:-busybox:1.36}

if docker image inspect "$image" >/dev/null 2>&1; then
  exit 0
fi
if docker pull -q "$image" >/dev/null 2>&1; then
  exit 0
fi

busybox=/bin/busybox
if ! { [ -x "$busybox" ] && "$busybox" --list-full >/dev/null 2>&1; }; then
  echo "installing busybox-static to build $image locally" >&2
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq busybox-static >/dev/null
fi
if ldd "$busybox" >/dev/null 2>&1; then
  echo "$busybox is dynamically linked; install busybox-static" >&2
  exit 1
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/root" "$root/var/www"
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list-full); do
  [ "$applet" = bin/busybox ] && continue
  mkdir -p "$root/$(dirname "$applet")"
  ln -sf /bin/busybox "$root/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
tar -C "$root" -c . | docker import -c 'CMD ["sh"]' -c 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' - "$image" >/dev/null
echo "made $image from $busybox" >&2
