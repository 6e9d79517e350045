/** The engine's matmul on its WebGPU backend, as the benchmarks drive it. */
import { WebGpuBackend, type WebGpuOptions } from '../engine/webgpu/backend.js';
import { rand } from '../engine/ops/creation.js';
import { matmul, setMatmulKernel, type MatmulKernel } from '../engine/ops/matmul.js';
import { Random } from '../engine/random.js';

export async function createBackend(opts: WebGpuOptions = {}): Promise<WebGpuBackend> {
  const b = await WebGpuBackend.create(opts);
  if (!b) throw new Error('no WebGPU adapter: see README (lavapipe setup)');
  return b;
}

export interface OursMatmul { run(): void; sync(): Promise<void>; dispose(): void }

/** M x K times K x N; `kernel` forces a variant (default: the per-device choice). */
export function oursMatmul(backend: WebGpuBackend, M: number, K: number, N: number, kernel: MatmulKernel | null = null): OursMatmul {
  const rng = new Random(1);
  const a = rand([M, K], { backend, rng, low: -1, high: 1 });
  const b = rand([K, N], { backend, rng, low: -1, high: 1 });
  return {
    run() {
      setMatmulKernel(kernel);
      try { matmul(a, b).dispose(); } finally { setMatmulKernel(null); }
    },
    sync: () => backend.sync(),
    dispose() { a.dispose(); b.dispose(); },
  };
}
