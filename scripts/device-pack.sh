#!/usr/bin/env bash
# Packs what the session's `device` tool (a GPU machine with no Node.js, no npm and no network) needs
# to run this project there: .device/ (git-ignored) holding this machine's node and the Vulkan loader,
# and node_modules as one xz tarball. The working tree plus carried paths may not exceed 64 MiB, so
# everything big travels compressed (node 95 -> 24 MiB, Dawn's dawn.node 21 -> 5 MiB).
#
#   npm ci && npm run build && bash scripts/device-pack.sh [--dev]
#
# Default: the production dependency tree (webgpu with Dawn's linux-x64 build alone, pngjs, ...).
# --dev adds what scripts/device-bench.sh needs besides: vitest's tree (to run test files on the GPU)
# and tfjs-core / tfjs-backend-webgpu / tfjs-layers trimmed to the CommonJS bundles Node loads.
# Then call the device tool with carry [".device", "dist"] and a command starting with
#   source .device/enter.sh && ...
# enter.sh unpacks node and the modules, points Vulkan at the NVIDIA driver, links node_modules.
# Derived from ../shared/tools/device-pack.sh (read-only there), which carried Dawn uncompressed.
set -euo pipefail
dev=0
for a in "$@"; do
  case "$a" in
    --dev) dev=1 ;;
    *) echo "device-pack: unknown argument $a (only --dev)" >&2; exit 2 ;;
  esac
done
root=$(git rev-parse --show-toplevel)
cd "$root"
[ -d node_modules ] || { echo "device-pack: run npm ci first" >&2; exit 1; }
grep -qxF '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
mkdir -p .device
if [ ! -s .device/node.xz ]; then
  xz -T2 -6 -c "$(readlink -f "$(command -v node)")" > .device/node.xz
fi
rm -f .device/*.deb
(cd .device && apt-get download libvulkan1 >/dev/null 2>&1) || { apt-get update -qq && (cd .device && apt-get download libvulkan1 >/dev/null); }

# The packages to carry: the transitive closure of the roots, resolved through package-lock.json
# the way Node resolves them (nested node_modules first, then each parent's).
roots=$(node -e "const p=require('./package.json'); console.log(Object.keys(p.dependencies||{}).join(' '))")
[ "$dev" = 1 ] && roots="$roots vitest @tensorflow/tfjs-core @tensorflow/tfjs-backend-webgpu @tensorflow/tfjs-layers"
list=$(node -e '
const pk = require("./package-lock.json").packages, fs = require("fs"), seen = new Set();
function resolve(from, name) {
  for (let base = from; ; ) {
    const cand = (base ? base + "/" : "") + "node_modules/" + name;
    if (pk[cand]) return cand;
    if (!base) return null;
    const i = base.lastIndexOf("/node_modules/");
    base = i < 0 ? "" : base.slice(0, i);
  }
}
function walk(path) {
  if (!path || seen.has(path)) return;
  seen.add(path);
  const p = pk[path];
  for (const d of Object.keys({ ...p.dependencies, ...p.optionalDependencies })) walk(resolve(path, d));
}
for (const r of process.argv.slice(1)) walk(resolve("", r));
console.log([...seen].filter((p) => fs.existsSync(p)).join("\n"));
' $roots)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
while read -r p; do
  mkdir -p "$stage/$(dirname "$p")"
  cp -r "$p" "$stage/$p"
done <<< "$list"
# Dawn: the linux-x64 build alone
if [ -d "$stage/node_modules/webgpu/dist" ]; then
  find "$stage/node_modules/webgpu/dist" -mindepth 1 -maxdepth 1 ! -name linux-x64 -exec rm -rf {} +
fi
# tfjs: package.json and the CommonJS bundle its "main" names (Node never loads the rest)
for t in "$stage"/node_modules/@tensorflow/*; do
  [ -d "$t" ] || continue
  main=$(node -e "console.log(require('$t/package.json').main)")
  keep=$(mktemp -d)
  cp "$t/package.json" "$keep/" && mkdir -p "$keep/$(dirname "$main")" && cp "$t/$main" "$keep/$main"
  rm -rf "$t" && mv "$keep" "$t"
done
tar -C "$stage" -cf - node_modules | xz -T2 -6 > .device/modules.tar.xz
rm -rf .device/node_modules
cat > .device/enter.sh <<'EOS'
# sourced on the device machine from the project's root
for f in .device/*.deb; do dpkg -x "$f" / ; done
ldconfig
xz -dc .device/node.xz > /usr/local/bin/node && chmod +x /usr/local/bin/node
rm -rf /tmp/device-modules && mkdir -p /tmp/device-modules && xz -dc .device/modules.tar.xz | tar -C /tmp/device-modules -xf -
# ESM ignores NODE_PATH: the project's imports resolve through ./node_modules
[ -e node_modules ] || ln -s /tmp/device-modules/node_modules node_modules
if [ -z "${VK_DRIVER_FILES:-}" ]; then
  for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    [ -f "$f" ] && export VK_DRIVER_FILES=$f && break
  done
fi
echo "Vulkan driver manifest: ${VK_DRIVER_FILES:-none found}"
export XDG_RUNTIME_DIR=/tmp
node --version && (nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader || true)
EOS
echo "packed $(du -sh .device | cut -f1) in .device ($(wc -l <<< "$list") packages$([ "$dev" = 1 ] && echo ', with --dev'))"
# what will travel: tracked and untracked-not-ignored files, plus the carried .device and dist
bytes=$( { git ls-files -z; git ls-files -z --others --exclude-standard; } | sort -zu | xargs -0 stat -c %s -- 2>/dev/null | awk '{s += $1} END {print s + 0}')
carried=$(du -sb .device dist 2>/dev/null | awk '{s += $1} END {print s + 0}')
mib=$(( (bytes + carried) / 1048576 ))
echo "the device tool would carry about $mib MiB (working tree + .device + dist; its limit is 64)"
[ "$mib" -lt 64 ] || { echo "device-pack: over the 64 MiB limit: drop --dev or untracked files" >&2; exit 1; }
