/**
 * SimCLR projection head: layer structure of v1 / v2 (official ProjectionHead), shapes, parameter
 * roles (what LARS excludes), the last BN without beta, train / eval, and CPU vs WebGPU.
 */
import { describe, expect, it } from 'vitest';
import { backward } from '../engine/autograd.js';
import { CpuBackend } from '../engine/cpu/backend.js';
import { Random } from '../engine/random.js';
import { tidy } from '../engine/tensor.js';
import { mean, randn, square, sum } from '../engine/ops/index.js';
import { LARS } from '../nn/index.js';
import { BatchNorm1dNoBeta, ProjectionHead } from '../simclr/index.js';
import { gpu, tensorOn } from './helpers.js';

describe('ProjectionHead', () => {
  it('v2 (default): 3 layers, Linear without bias - BN - ReLU, last BN has no beta', () => {
    const c = new CpuBackend();
    const head = new ProjectionHead(16, { rng: new Random(1), backend: c });
    expect(head.dims).toEqual([16, 16, 16, 128]);
    expect(head.parameterInfos().map((p) => [p.name, p.role, p.tensor.shape])).toEqual([
      ['0.weight', 'weight', [16, 16]], ['1.weight', 'bn', [16]], ['1.bias', 'bn', [16]],
      ['3.weight', 'weight', [16, 16]], ['4.weight', 'bn', [16]], ['4.bias', 'bn', [16]],
      ['6.weight', 'weight', [128, 16]], ['7.weight', 'bn', [128]],
    ]);
    expect([...head.stateDict().keys()].filter((k) => k.startsWith('7.'))).toEqual(['7.weight', '7.running_mean', '7.running_var', '7.num_batches_tracked']);
    expect(head.namedChildren().map(([n, m]) => `${n}:${m.constructor.name}`)).toEqual([
      '0:Linear', '1:BatchNorm1d', '2:ReLU', '3:Linear', '4:BatchNorm1d', '5:ReLU', '6:Linear', '7:BatchNorm1dNoBeta',
    ]);
    // LARS excludes exactly the BN parameters (there are no biases).
    const opt = new LARS(head, { lr: 0.1 });
    expect(head.parameterInfos().filter((p) => opt.isExcluded(p.tensor)).map((p) => p.name)).toEqual(['1.weight', '1.bias', '4.weight', '4.bias', '7.weight']);
    head.dispose();
    expect(c.memory().liveBuffers).toBe(0);
  });

  it('v1: Linear(d, d) - BN - ReLU - Linear(d, 128) - BN; widths, depth and BN configurable', async () => {
    const c = new CpuBackend();
    const v1 = new ProjectionHead(8, { numLayers: 2, backend: c });
    expect(v1.namedChildren().map(([, m]) => m.constructor.name)).toEqual(['Linear', 'BatchNorm1d', 'ReLU', 'Linear', 'BatchNorm1dNoBeta']);
    const x = randn([4, 8], { backend: c });
    expect(tidy(() => v1.call(x)).shape).toEqual([4, 128]);
    const custom = new ProjectionHead(8, { numLayers: 4, hiddenDims: [32, 16, 12], outDim: 5, batchNorm: false, backend: c });
    expect(custom.dims).toEqual([8, 32, 16, 12, 5]);
    expect(custom.parameterInfos().map((p) => `${p.name}:${p.role}`)).toEqual([
      '0.weight:weight', '0.bias:bias', '2.weight:weight', '2.bias:bias', '4.weight:weight', '4.bias:bias', '6.weight:weight',
    ]);
    const hs = tidy(() => custom.hiddens(x));
    expect(hs.map((t) => t.shape)).toEqual([[4, 8], [4, 32], [4, 16], [4, 12], [4, 5]]);
    // Hidden outputs pass through ReLU; the last does not.
    expect(Math.min(...await hs[2].data())).toBeGreaterThanOrEqual(0);
    expect(Math.min(...await hs[4].data())).toBeLessThan(0);
    expect(() => new ProjectionHead(8, { numLayers: 3, hiddenDims: [4] })).toThrow(/hiddenDims/);
    expect(() => v1.call(randn([4, 7], { backend: c }))).toThrow(/\[N,8\]/);
    hs.slice(1).forEach((t) => t.dispose());
    x.dispose(); v1.dispose(); custom.dispose();
  });

  it('kernels start from N(0, 0.01^2); train mode normalizes per batch, eval uses running stats', async () => {
    const c = new CpuBackend();
    const head = new ProjectionHead(64, { numLayers: 2, outDim: 64, rng: new Random(2), backend: c });
    const w = Array.from(await head.parameterInfos()[0].tensor.data());
    const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    expect(std).toBeGreaterThan(0.009);
    expect(std).toBeLessThan(0.011);
    const x = randn([32, 64], { rng: new Random(3), backend: c });
    const z = tidy(() => head.call(x));
    // Last BN: gamma 1, no beta: each output column has mean 0 and (biased) variance ~1.
    const zv = await z.data();
    for (const col of [0, 17, 63]) {
      let m = 0, v = 0;
      for (let i = 0; i < 32; i++) m += zv[i * 64 + col] / 32;
      for (let i = 0; i < 32; i++) v += (zv[i * 64 + col] - m) ** 2 / 32;
      expect(Math.abs(m)).toBeLessThan(1e-5);
      expect(v).toBeGreaterThan(0.98); // var / (var + eps): the inputs are small (N(0, 0.01^2) kernels)
      expect(v).toBeLessThanOrEqual(1);
    }
    const last = head.children()[4] as BatchNorm1dNoBeta;
    expect(Array.from(await last.numBatchesTracked.data())).toEqual([0]);
    expect(Array.from(await head.stateDict().get('4.num_batches_tracked')!.data())).toEqual([1]);
    const rm = Array.from(await last.runningMean.data());
    expect(Math.max(...rm.map(Math.abs))).toBeGreaterThan(0); // running stats moved
    head.eval();
    expect(head.training).toBe(false);
    const ze = tidy(() => head.call(x));
    const zev = await ze.data();
    expect(Math.abs(zev[0] - zv[0])).toBeGreaterThan(1e-3); // eval differs from batch statistics
    head.train();
    [x, z, ze].forEach((t) => t.dispose());
    head.dispose();
    expect(c.memory().liveBuffers).toBe(0);
  });

  it('BatchNorm1dNoBeta: gamma only, gradient reaches gamma and the input', async () => {
    const c = new CpuBackend();
    const bn = new BatchNorm1dNoBeta(3, { backend: c });
    const x = tensorOn(c, [1, 2, 3, 4, 5, 7, -1, 0, 2, 3, 3, 3], [4, 3]);
    x.requiresGrad = true;
    const loss = tidy(() => sum(square(bn.call(x))));
    backward(loss);
    expect(bn.parameterInfos().map((p) => p.name)).toEqual(['weight']);
    expect(bn.weight.grad).not.toBeNull();
    expect(x.grad).not.toBeNull();
    loss.dispose(); x.grad?.dispose(); x.dispose(); bn.zeroGrad(); bn.dispose();
    expect(c.memory().liveBuffers).toBe(0);
  });

  it('WebGPU matches the CPU reference (forward and gradients)', async () => {
    const g = await gpu();
    const c = new CpuBackend();
    const run = async (backend: typeof g | CpuBackend) => {
      const head = new ProjectionHead(12, { outDim: 6, rng: new Random(7), backend });
      const x = randn([8, 12], { rng: new Random(8), backend });
      const z = tidy(() => head.call(x));
      const loss = tidy(() => mean(square(z)));
      backward(loss);
      const out = { z: Array.from(await z.data()), grads: await Promise.all(head.parameters().map(async (p) => Array.from(await p.grad!.data()))) };
      head.zeroGrad(); head.dispose(); [x, z, loss].forEach((t) => t.dispose());
      return out;
    };
    const a = await run(c);
    const b = await run(g);
    a.z.forEach((v, i) => expect(Math.abs(b.z[i] - v)).toBeLessThan(1e-4));
    a.grads.forEach((gr, k) => {
      const scale = Math.max(...gr.map(Math.abs));
      gr.forEach((v, i) => expect(Math.abs(b.grads[k][i] - v)).toBeLessThanOrEqual(1e-3 * scale + 1e-7));
    });
  });
});
