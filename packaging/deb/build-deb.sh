#!/usr/bin/env bash
# Builds the Debian package of zkpush from a build folder: `make deb` runs it (docs/operations.md).
#   packaging/deb/build-deb.sh [BUILD_DIR [OUT_DIR]]     (default: build, BUILD_DIR)
# Writes OUT_DIR/zkpush_<version>_<arch>.deb and prints its path.
#
# Why dpkg-deb on a staged tree rather than debian/ + dpkg-buildpackage or CPack: the binary is
# already built (and tested) by CMake, and what the package adds is a handful of files; a staged tree
# is the whole recipe in one place, with no second build. dpkg-shlibdeps still computes Depends from
# the binary's libraries, as Debian's own tooling would.
#
# The web console (BUILD_DIR/console, `make console`) is part of the package; ZKPUSH_DEB_NO_CONSOLE=1
# builds one without it (the tests do, on a machine without Node.js), and the server then says at /
# how to install one.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
out="${2:-$build}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

binary="$build/zkpush"
[ -x "$binary" ] || { echo "build-deb: $binary not found: build it first (make build)" >&2; exit 1; }
if [ ! -f "$build/console/index.html" ] && [ "${ZKPUSH_DEB_NO_CONSOLE:-0}" != "1" ]; then
  echo "build-deb: $build/console/index.html not found: build the console first (make console)," \
       "or set ZKPUSH_DEB_NO_CONSOLE=1 for a package without it" >&2
  exit 1
fi

version="$("$binary" --version | awk '{print $2}')"
# Who the package names as its maintainer: ZKPUSH_DEB_MAINTAINER="Name <address>" for a real release.
ZKPUSH_DEB_MAINTAINER="${ZKPUSH_DEB_MAINTAINER:-zkpush maintainers <maintainers@zkpush.example.org>}"
arch="$(dpkg --print-architecture)"
work="$(mktemp -d "${TMPDIR:-/tmp}/zkpush-deb.XXXXXX")"
trap 'rm -rf "$work"' EXIT
stage="$work/zkpush_${version}_${arch}"

# --- the files ---------------------------------------------------------------------------------------
install -d -m 0755 "$stage/DEBIAN" "$stage/usr/bin" "$stage/etc/zkpush" \
  "$stage/lib/systemd/system" "$stage/usr/share/doc/zkpush" "$stage/usr/share/doc/zkpush/examples"
# Stripped: the build keeps line tables (-g1) for its own backtraces; the package does not ship them.
install -m 0755 -s "$binary" "$stage/usr/bin/zkpush"
if [ -f "$build/console/index.html" ]; then
  install -d -m 0755 "$stage/usr/share/zkpush"
  cp -r "$build/console" "$stage/usr/share/zkpush/console"
  find "$stage/usr/share/zkpush/console" -type d -exec chmod 0755 {} + -o -type f -exec chmod 0644 {} +
fi
install -m 0640 "$here/zkpush.conf" "$stage/etc/zkpush/zkpush.conf"
install -m 0644 "$root/packaging/systemd/zkpush.service" "$stage/lib/systemd/system/zkpush.service"
install -m 0644 "$root/docs/operations.md" "$stage/usr/share/doc/zkpush/operations.md"
install -m 0644 "$root/packaging/prometheus/zkpush-alerts.yml" "$stage/usr/share/doc/zkpush/examples/zkpush-alerts.yml"
install -m 0644 "$here/copyright" "$stage/usr/share/doc/zkpush/copyright"
{
  echo "zkpush ($version) unstable; urgency=medium"
  echo
  echo "  * Package built from the zkpush sources (see the project's git history)."
  echo
  echo " -- ${ZKPUSH_DEB_MAINTAINER}  $(date -R -d "@${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}")"
} | gzip -9n > "$stage/usr/share/doc/zkpush/changelog.gz"
chmod 0644 "$stage/usr/share/doc/zkpush/changelog.gz"

# --- control -----------------------------------------------------------------------------------------
# Depends: the packages of the libraries the binary links, from dpkg-shlibdeps (which wants a
# debian/control to read, hence the one-line stub), plus what the maintainer scripts call.
mkdir -p "$work/shlibs/debian"
printf 'Source: zkpush\n\nPackage: zkpush\nArchitecture: any\n' > "$work/shlibs/debian/control"
shlibs="$(cd "$work/shlibs" && dpkg-shlibdeps -O -e"$stage/usr/bin/zkpush" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')"
[ -n "$shlibs" ] || { echo "build-deb: dpkg-shlibdeps found no libraries" >&2; exit 1; }
size="$(du -sk --exclude=DEBIAN "$stage" | cut -f1)"
cat > "$stage/DEBIAN/control" <<CONTROL
Package: zkpush
Version: $version
Architecture: $arch
Maintainer: ${ZKPUSH_DEB_MAINTAINER}
Installed-Size: $size
Depends: $shlibs, adduser
Section: net
Priority: optional
Homepage: https://github.com/zkpush/zkpush
Description: server for ZKTeco Security PUSH 3.1.2 access control devices
 zkpush serve receives the devices' events over HTTP (/iclock), queues their
 commands, keeps persons, cards and access levels in sync, and offers a JSON
 API, a web console, webhooks, MQTT and Prometheus metrics. The package runs it
 as the zkpush service (systemd, sandboxed) with its data in /var/lib/zkpush.
 The same binary holds a device emulator, a conformance checker, a decoder of
 captured exchanges, an API client (zkpush ctl) and backup and restore.
CONTROL
echo "/etc/zkpush/zkpush.conf" > "$stage/DEBIAN/conffiles"
for script in postinst prerm postrm; do
  install -m 0755 "$here/$script" "$stage/DEBIAN/$script"
done

deb="$out/zkpush_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
