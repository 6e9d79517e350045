#!/usr/bin/env bash
# The real-GPU check and figures, run on the `device` tool's machine (one NVIDIA GPU, no Node.js):
# the kernel and parity test files on the GPU, then the bench's step, matmul, resnet and conv
# sections (PyTorch on the same GPU through TORCH_DEVICE=cuda where its python3 has CUDA torch).
# Each part runs in its own process under its own time limit, so one that hangs or fails costs only
# itself. Prepared here with:
#   npm ci && npm run build && bash scripts/device-pack.sh --dev
# and run through the device tool with carry [".device", "dist"]:
#   source .device/enter.sh && bash scripts/device-bench.sh
# What it writes under $OUT (logs and the sections' JSONs) comes back to the calling machine.
set -uo pipefail
out=${OUT:-/tmp/device-bench}
mkdir -p "$out"
mark=$(mktemp)
stamp() { echo "== $* ($(date +%T))"; }
# Dawn's warnings about dynamic-offset limits are noise here
quiet() { grep -v '^Warning: maxDynamic'; }

export TORCH_PYTHON=${TORCH_PYTHON:-$(command -v python3 || echo /nonexistent)}
if "$TORCH_PYTHON" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  export TORCH_DEVICE=${TORCH_DEVICE:-cuda}
fi
stamp "PyTorch: $TORCH_PYTHON on ${TORCH_DEVICE:-cpu}"

# Without an adapter nothing below means anything: stop early (and cheaply)
node --input-type=module -e "
const gpu = (await import('webgpu')).create([]);
const a = await gpu.requestAdapter({ powerPreference: 'high-performance' });
if (!a) { console.log('no WebGPU adapter'); process.exit(1); }
const i = a.info; console.log('adapter:', [i.vendor, i.architecture, i.device, i.description].join(' / '), 'subgroups:', a.features.has('subgroups'), 'timestamps:', a.features.has('timestamp-query'));
process.exit(0);" || { ldconfig -p | grep -iE 'vulkan|nvidia' | head; exit 1; }

stamp tests
timeout "${TEST_LIMIT:-100}" node node_modules/vitest/vitest.mjs run --reporter=dot \
  test/matmul.test.ts test/conv.test.ts test/conv-narrow.test.ts test/norm.test.ts test/ops.test.ts \
  test/reductions.test.ts test/pool.test.ts test/ntxent.test.ts test/ntxent-chunks.test.ts \
  test/parity.test.ts test/resnet.test.ts test/optim.test.ts test/augment.test.ts test/memory.test.ts \
  > "$out/tests.log" 2>&1
echo "tests rc $?"
grep -E 'FAIL|Test Files|Tests |AssertionError|Error:' "$out/tests.log" | quiet | head -40

section() {
  local name=$1 limit=$2
  shift 2
  stamp "bench $name"
  timeout "$limit" node dist/bench/run.js --only="$name" "$@" 2>&1 | quiet | tee -a "$out/bench.log" | grep -v 'sample [0-9]'
  echo "$name rc ${PIPESTATUS[0]}"
}
section step "${STEP_LIMIT:-150}" --step-samples=5 --profile
section matmul "${MATMUL_LIMIT:-70}"
section resnet "${RESNET_LIMIT:-70}"
section conv "${CONV_LIMIT:-110}"

find bench/results -name '*.json' ! -name '*latest*' -newer "$mark" -exec cp {} "$out/" \;
stamp "done; back: $(ls "$out" | tr '\n' ' ')"
