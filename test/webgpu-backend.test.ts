/** WebGPU backend mechanics: batching hazards, pooling, caches, error reporting. */
import { describe, expect, it } from 'vitest';
import { exp, tensor } from '../engine/ops/index.js';
import { WebGpuBackend } from '../engine/webgpu/backend.js';
import { gpu } from './helpers.js';

describe('WebGPU backend', () => {
  it('an upload into a pooled buffer that pending work still reads is ordered after that work', async () => {
    const g = await gpu();
    await g.sync();
    const a = tensor([0, 1, 2, 3], undefined, { backend: g });
    const b = exp(a); // recorded, not submitted: it reads a's buffer later
    a.dispose(); // a's buffer goes back to the pool at once...
    const c = tensor([9, 9, 9, 9], undefined, { backend: g }); // ...and is handed to this upload
    expect(Array.from(await b.data()).map((v) => +v.toFixed(4))).toEqual([0, 1, 2, 3].map((v) => +Math.exp(v).toFixed(4)));
    expect(Array.from(await c.data())).toEqual([9, 9, 9, 9]);
    b.dispose(); c.dispose();
  });

  it('reuses pooled buffers instead of allocating', async () => {
    const g = await gpu();
    const x = tensor(Array.from({ length: 1000 }, (_, i) => i), undefined, { backend: g });
    exp(x).dispose();
    const pooled = g.memory().pooledBuffers;
    for (let i = 0; i < 10; i++) exp(x).dispose();
    expect(g.memory().pooledBuffers).toBe(pooled);
    x.dispose();
  });

  it('the pool hands out its earliest-created free buffer of a size, whatever order they were freed in', async () => {
    const g = await gpu();
    // a size no other test here uses, so the class starts empty
    const made = [g.alloc(12345), g.alloc(12345), g.alloc(12345)];
    for (const i of [1, 2, 0]) g.release(made[i]);
    const again = [g.alloc(12345), g.alloc(12345), g.alloc(12345)];
    expect(again.map((s) => s.id)).toEqual(made.map((s) => s.id));
    again.forEach((s) => g.release(s));
  });

  it('reports device errors on the next read instead of returning garbage', async () => {
    const g = await gpu();
    const bad = g.alloc(4);
    // A dispatch whose bindings do not match the shader's layout is a validation error.
    g.run({ shader: 'unary', constants: { OP: 1 }, inputs: [], outputs: [bad], workgroups: [1] });
    await expect(g.sync()).rejects.toThrow(/webgpu: device reported/);
    g.release(bad);
  });

  it('refuses a buffer past the storage binding limit at allocation, naming size and limit', async () => {
    const g = await gpu();
    const limit = g.device.limits.maxStorageBufferBindingSize;
    const before = g.memory().liveBuffers;
    expect(() => g.alloc(limit / 4 + 1)).toThrow(/alloc: a buffer of \d+ float32 elements .* exceeds this device's maxStorageBufferBindingSize of .* MiB/);
    expect(g.memory().liveBuffers).toBe(before);
  });

  it('waits for the queue by sleeping on a CPU adapter, by plain awaiting on a GPU; the option overrides', async () => {
    const g = await gpu();
    expect(g.wait).toBe(g.isCpuAdapter ? 'sleep' : 'spin');
    const other = (await WebGpuBackend.create({ wait: g.isCpuAdapter ? 'spin' : 'sleep' }))!;
    try {
      expect(other.wait).toBe(g.isCpuAdapter ? 'spin' : 'sleep');
      const x = tensor([1, 2], undefined, { backend: other });
      expect(Array.from(await exp(x).data()).map((v) => +v.toFixed(3))).toEqual([2.718, 7.389]);
    } finally {
      other.destroy();
    }
  });
});
