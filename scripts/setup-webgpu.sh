#!/usr/bin/env bash
# Makes WebGPU available on a headless Debian/Ubuntu-style machine with no GPU.
#
# Dawn (npm `webgpu`) needs a Vulkan driver. With no GPU that is Mesa's CPU driver lavapipe, and
# Dawn refuses Mesa older than 23. Debian bookworm ships 22.3, so Mesa comes from
# bookworm-backports, added on the SAME mirror the machine already uses (no host is hard-coded).
# It also installs Chromium (Debian's `chromium` package), which test/browser.test.ts runs headless
# to check the engine in a browser; Chromium brings its own WebGPU adapter (SwiftShader).
# Idempotent; needs root (uses sudo when not root). Prints the driver version at the end.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup-webgpu: needs root (or sudo) to install Mesa and Chromium" >&2; exit 1; }
  SUDO="sudo"
fi

mesa_version() { dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true; }
mesa_ok() {
  local v; v=$(mesa_version)
  [ -n "$v" ] && ls /usr/lib/*/libvulkan_lvp.so >/dev/null 2>&1 && [ "${v%%.*}" -ge 23 ] 2>/dev/null
}

if ! mesa_ok; then
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  apt_opts=()
  if [ "$codename" = "bookworm" ]; then
    # The mirror of the machine's own Debian sources (deb822 or one-line format).
    mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | awk '{print $1}' | grep -v security | head -n1)
    [ -n "$mirror" ] || mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $1}' | grep '/debian/*$' | head -n1)
    [ -n "$mirror" ] || mirror=$(awk '$1=="deb" && $2 !~ /security/ && $2 ~ /debian/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    [ -n "$mirror" ] || { echo "setup-webgpu: cannot find the Debian mirror in /etc/apt/sources.list*" >&2; exit 1; }
    echo "deb $mirror bookworm-backports main" | $SUDO tee /etc/apt/sources.list.d/backports.list >/dev/null
    apt_opts=(-t bookworm-backports)
  fi
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libvulkan1 >/dev/null
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_opts[@]}" mesa-vulkan-drivers >/dev/null
fi

mesa_ok || { echo "setup-webgpu: mesa-vulkan-drivers $(mesa_version) is older than 23; Dawn will refuse it" >&2; exit 1; }
echo "setup-webgpu: mesa-vulkan-drivers $(mesa_version) (lavapipe) ready"

# Headless Chromium for the browser test (only when missing).
if [ ! -x /usr/bin/chromium ]; then
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
[ -x /usr/bin/chromium ] || { echo "setup-webgpu: apt-get install chromium did not provide /usr/bin/chromium" >&2; exit 1; }
echo "setup-webgpu: $(/usr/bin/chromium --version 2>/dev/null) ready"
