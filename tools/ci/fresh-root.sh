#!/usr/bin/env bash
# Runs the README's two quick-start commands (tools/quickstart.sh, then tools/run-tests.sh) on the
# committed HEAD inside a brand-new Debian 12 root (debootstrap + chroot), so that a package
# installed by hand on this machine can never hide a missing install step.
#   tools/ci/fresh-root.sh [--keep]
# Exit codes: 0 both commands passed; 1 a command failed inside the fresh root (a real failure);
# 75 the fresh root itself could not be made (not root, no debootstrap, no Debian mirror reachable)
# -- .ci/run then falls back to running the tests on this machine and says so.
# The root is made under /var/tmp and removed afterwards unless --keep is given.
set -uo pipefail
keep=0; [ "${1:-}" = "--keep" ] && keep=1
project=$(git -C "$(dirname "$0")/../.." rev-parse --show-toplevel)
cannot() { echo "fresh-root: cannot make a fresh Debian root: $*" >&2; exit 75; }

[ "$(id -u)" -eq 0 ] || cannot "needs root (debootstrap and chroot)"
mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)[[:space:]]*$/\1/p' \
           /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
[ -n "$mirror" ] || mirror=$(sed -n 's/^deb[[:space:]]\+\([^[:space:]]*\/debian\)[[:space:]]\+bookworm[[:space:]].*/\1/p' \
           /etc/apt/sources.list 2>/dev/null | head -1)
[ -n "$mirror" ] || cannot "no Debian bookworm mirror in this machine's apt sources"
if ! command -v debootstrap >/dev/null; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; } >/dev/null 2>&1 \
    || cannot "debootstrap is not installed and apt-get could not install it"
fi

root=$(mktemp -d /var/tmp/edgeopt-fresh-root.XXXXXX)
unmount_all() {
  local m
  for m in dev/pts dev sys proc; do umount -R -l "$root/$m" 2>/dev/null || true; done
}
cleanup() {
  unmount_all
  # Never delete through a mount that is still attached (e.g. the host's /dev).
  if grep -q " $root/" /proc/mounts; then
    echo "fresh-root: mounts remain under $root; left in place" >&2
  elif [ $keep = 0 ]; then
    rm -rf --one-file-system "$root"
  else
    echo "fresh-root: kept $root" >&2
  fi
}
trap cleanup EXIT

echo "== fresh-root: debootstrap bookworm into $root (mirror $mirror)" >&2
SECONDS=0
debootstrap --variant=minbase --include=ca-certificates,git,sudo bookworm "$root" "$mirror" \
    >"$root.debootstrap.log" 2>&1 || { tail -5 "$root.debootstrap.log" >&2; rm -f "$root.debootstrap.log"; cannot "debootstrap failed (network?)"; }
rm -f "$root.debootstrap.log"
echo "fresh-root: root made in ${SECONDS}s" >&2

# A fresh machine of this workplace has its package clients set up (trusted CAs, npm's
# configuration): carry exactly that into the root, nothing else.
if compgen -G "/usr/local/share/ca-certificates/*" >/dev/null; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/* "$root/usr/local/share/ca-certificates/"
  chroot "$root" update-ca-certificates >/dev/null 2>&1 || true
fi
for f in /etc/npmrc /usr/etc/npmrc; do
  [ -f "$f" ] && { mkdir -p "$root$(dirname "$f")"; cp "$f" "$root$f"; }
done
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
# Every installed Debian has /etc/hosts naming localhost and the machine's own name (the installer
# writes both); debootstrap's minbase root has none, and then neither resolves (torchrun's
# rendezvous needs both).
[ -f "$root/etc/hosts" ] ||
  printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' "$(hostname)" > "$root/etc/hosts"
mount -t proc proc "$root/proc" && mount --rbind /sys "$root/sys" && mount --rbind /dev "$root/dev" \
  || cannot "could not mount /proc, /sys, /dev into the root"

mkdir -p "$root/work"
git clone -q "$project" "$root/work/project" || cannot "could not clone $project"
in_root() {
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    bash -c "cd /work/project && $1"
}
for cmd in tools/quickstart.sh tools/run-tests.sh; do
  echo "== fresh-root: $cmd" >&2
  SECONDS=0
  if ! in_root "$cmd"; then
    echo "fresh-root: FAILED: $cmd in a fresh Debian 12 root (after ${SECONDS}s)" >&2
    exit 1
  fi
  echo "fresh-root: $cmd passed in ${SECONDS}s" >&2
done
