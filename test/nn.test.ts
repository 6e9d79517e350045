/**
 * nn modules: parameters with roles, buffers, state dicts (names, strict and non-strict loading),
 * train/eval propagation, layer argument checks, seeded initialization and its statistics, and
 * BatchNorm's running statistics in training and eval mode.
 */
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../engine/cpu/backend.js';
import { Random } from '../engine/random.js';
import type { Backend } from '../engine/backend.js';
import { tidy, type Tensor } from '../engine/tensor.js';
import { ArgumentError, ShapeError } from '../engine/errors.js';
import { mean, randn, sub, tensor, variance } from '../engine/ops/index.js';
import {
  AdaptiveAvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Flatten, Identity, Linear, MaxPool2d, Module, ReLU, Sequential,
  StateDictError, initializers as init,
} from '../nn/index.js';
import { expectClose, gpu } from './helpers.js';

const cpu = () => new CpuBackend();

async function values(t: Tensor): Promise<number[]> { return Array.from(await t.data()); }

function stats(v: ArrayLike<number>): { mean: number; std: number } {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  const m = s / v.length;
  let q = 0;
  for (let i = 0; i < v.length; i++) q += (v[i] - m) ** 2;
  return { mean: m, std: Math.sqrt(q / v.length) };
}

/** A small module tree: a conv block with BN and a linear head. */
class Net extends Module {
  readonly features: Sequential;
  readonly head: Linear;
  constructor(backend: Backend = cpu(), rng = new Random(1)) {
    super();
    this.features = this.registerModule('features', new Sequential(
      new Conv2d(3, 4, 3, { padding: 1, bias: false, rng, backend }), new BatchNorm2d(4, { backend }), new ReLU(),
      new AdaptiveAvgPool2d(1), new Flatten(),
    ));
    this.head = this.registerModule('head', new Linear(4, 2, { rng, backend }));
  }
  forward(x: Tensor): Tensor { return this.head.forward(this.features.forward(x)); }
}

describe('Module', () => {
  it('names parameters and buffers as PyTorch, with roles', () => {
    const net = new Net();
    expect(net.namedParameters().map(([n]) => n)).toEqual([
      'features.0.weight', 'features.1.weight', 'features.1.bias', 'head.weight', 'head.bias',
    ]);
    expect(net.parameterInfos().map((p) => p.role)).toEqual(['weight', 'bn', 'bn', 'weight', 'bias']);
    expect(net.namedBuffers().map(([n]) => n)).toEqual([
      'features.1.running_mean', 'features.1.running_var', 'features.1.num_batches_tracked',
    ]);
    expect([...net.stateDict().keys()]).toEqual([
      'features.0.weight',
      'features.1.weight', 'features.1.bias', 'features.1.running_mean', 'features.1.running_var', 'features.1.num_batches_tracked',
      'head.weight', 'head.bias',
    ]);
    const sd = net.stateDict();
    expect(sd.get('features.1.num_batches_tracked')!.dtype).toBe('i32');
    expect(sd.get('features.1.num_batches_tracked')!.shape).toEqual([]);
    expect(net.parameters().every((p) => p.requiresGrad)).toBe(true);
    expect(net.buffers().some((b) => b.requiresGrad)).toBe(false);
    expect(net.roleOf(net.head.bias!)).toBe('bias');
    expect(net.roleOf(sd.get('features.1.running_mean')!)).toBeUndefined();
    expect(net.numParameters()).toBe(4 * 3 * 9 + 4 + 4 + 8 + 2);
    expect(net.namedModules().map(([n]) => n)).toEqual(['', 'features', 'features.0', 'features.1', 'features.2', 'features.3', 'features.4', 'head']);
    expect(net.getSubmodule('features.1')).toBeInstanceOf(BatchNorm2d);
    expect(() => net.getSubmodule('features.9')).toThrow(/no submodule 'features.9'/);
    net.dispose();
  });

  it('rejects duplicate and dotted names and unknown roles', () => {
    class Bad extends Module {
      constructor(kind: number) {
        super();
        const b = cpu();
        this.registerParameter('w', tensor([1], undefined, { backend: b }));
        if (kind === 0) this.registerBuffer('w', tensor([1], undefined, { backend: b }));
        if (kind === 1) this.registerModule('a.b', new ReLU());
        if (kind === 2) this.registerParameter('v', tensor([1], undefined, { backend: b }), 'gamma' as never);
      }
      forward(x: Tensor) { return x; }
    }
    expect(() => new Bad(0)).toThrow(/'w' registered twice/);
    expect(() => new Bad(1)).toThrow(/without '.'/);
    expect(() => new Bad(2)).toThrow(/unknown parameter role 'gamma'/);
  });

  it('train() and eval() reach every descendant', () => {
    const net = new Net();
    const all = () => net.namedModules().map(([, m]) => m.training);
    expect(all().every(Boolean)).toBe(true);
    expect(net.eval()).toBe(net);
    expect(all().some(Boolean)).toBe(false);
    net.features.train();
    expect(net.training).toBe(false);
    expect(net.features.at(1).training).toBe(true);
    net.train();
    expect(all().every(Boolean)).toBe(true);
    net.dispose();
  });

  it('loadStateDict copies values in, keeping the handles, and leaves the source usable', async () => {
    const a = new Net(cpu(), new Random(1));
    const b = new Net(a.head.weight.backend, new Random(2));
    const handles = b.parameters();
    const report = b.loadStateDict(a.stateDict());
    expect(report.loadedKeys.length).toBe(8);
    expect(b.parameters()).toEqual(handles);
    for (const [n, t] of a.stateDict()) expect(await values(b.stateDict().get(n)!)).toEqual(await values(t));
    // Copies, not shared storage: disposing the source keeps the target intact.
    const w = await values(a.head.weight);
    a.dispose();
    expect(await values(b.head.weight)).toEqual(w);
    b.dispose();
  });

  it('loadStateDict takes host arrays (decoded files) and converts dtypes', async () => {
    const net = new Net();
    const host = new Map<string, { dtype: string; shape: number[]; data: ArrayLike<number> }>();
    for (const [n, t] of net.stateDict()) host.set(n, { dtype: 'F32', shape: [...t.shape], data: new Float32Array(t.size).fill(0.5) });
    host.set('features.1.num_batches_tracked', { dtype: 'I64', shape: [], data: new Int32Array([7]) });
    net.loadStateDict(host);
    expect(await values(net.head.bias!)).toEqual([0.5, 0.5]);
    const nbt = net.stateDict().get('features.1.num_batches_tracked')!;
    expect(nbt.dtype).toBe('i32');
    expect(await nbt.item()).toBe(7);
    net.dispose();
  });

  it('strict loadStateDict lists every missing, unexpected and mismatched key and loads nothing', async () => {
    const net = new Net();
    const before = await values(net.head.weight);
    const sd = new Map<string, Tensor>(net.stateDict());
    const b = net.head.weight.backend;
    sd.delete('features.1.running_var');
    sd.delete('head.bias');
    const extra = tensor([1, 2], undefined, { backend: b });
    const wrong = tensor([1, 2, 3], undefined, { backend: b });
    const newW = randn([2, 4], { backend: b });
    sd.set('head.weight', newW);
    sd.set('features.1.bias', wrong);
    sd.set('features.2.weight', extra);
    let err: unknown;
    try { net.loadStateDict(sd); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(StateDictError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/^loadStateDict: /);
    expect(msg).toContain('missing keys (2): features.1.running_var, head.bias');
    expect(msg).toContain('unexpected keys (1): features.2.weight');
    expect(msg).toContain('shape mismatches (1): features.1.bias expected [4] got [3]');
    expect((err as StateDictError).report.missingKeys).toEqual(['features.1.running_var', 'head.bias']);
    expect(await values(net.head.weight)).toEqual(before); // nothing loaded

    const report = net.loadStateDict(sd, { strict: false });
    expect(report.missingKeys).toEqual(['features.1.running_var', 'head.bias']);
    expect(report.unexpectedKeys).toEqual(['features.2.weight']);
    expect(report.mismatchedKeys).toEqual([{ key: 'features.1.bias', expected: [4], got: [3] }]);
    expect(report.loadedKeys).toContain('head.weight');
    expect(await values(net.head.weight)).toEqual(await values(newW));
    expect(await values(net.features.at(1).stateDict().get('bias')!)).toEqual([0, 0, 0, 0]);
    [extra, wrong, newW].forEach((t) => t.dispose());
    net.dispose();
  });

  it('loadStateDict refuses tensors from another backend by name', () => {
    const net = new Net();
    const other = new Net(cpu());
    expect(() => net.loadStateDict(other.stateDict())).toThrow(/value for 'features.0.weight' lives on another backend \(cpu\) than the module \(cpu\): move it/);
    net.dispose();
    other.dispose();
  });
});

describe('layers', () => {
  it('check their arguments', () => {
    const backend = cpu();
    expect(() => new Conv2d(0, 4, 3, { backend })).toThrow(/Conv2d: inChannels must be a positive integer/);
    expect(() => new Conv2d(3, 4, [3, 3, 3] as never, { backend })).toThrow(/Conv2d: kernelSize/);
    expect(() => new Conv2d(3, 4, 3, { stride: 0, backend })).toThrow(/Conv2d: stride/);
    expect(() => new BatchNorm2d(4, { momentum: 2, backend })).toThrow(/BatchNorm2d: momentum/);
    expect(() => new MaxPool2d(3, { padding: 2 })).toThrow(/MaxPool2d: padding/);
    expect(() => new AdaptiveAvgPool2d(2)).toThrow('AdaptiveAvgPool2d: only output size 1 (global average pooling) is supported, got 2');
    expect(() => new AdaptiveAvgPool2d([1, 2])).toThrow(/only output size 1/);
    expect(new AdaptiveAvgPool2d([1, 1]).outputSize).toEqual([1, 1]);
    const pool = new MaxPool2d(3);
    expect(pool.stride).toEqual([3, 3]);
    const x = tensor([1, 2, 3], undefined, { backend });
    expect(() => new BatchNorm2d(3, { backend }).forward(x)).toThrow(ShapeError);
    expect(() => new Conv2d(3, 4, 3, { backend }).forward(x)).toThrow(/Conv2d: expected input \[N,3,H,W\], got \[3\]/);
    expect(new Identity().forward(x)).toBe(x);
    const seq = new Sequential(new ReLU(), new Identity());
    expect(seq.length).toBe(2);
    expect(seq.at(-1)).toBeInstanceOf(Identity);
    expect(() => seq.at(2)).toThrow(ArgumentError);
  });

  it('Conv2d has torchvision parameters: weight [out,in,kh,kw], optional bias', () => {
    const backend = cpu();
    const c = new Conv2d(3, 8, [3, 5], { stride: 2, padding: [1, 2], backend });
    expect(c.weight.shape).toEqual([8, 3, 3, 5]);
    expect(c.bias!.shape).toEqual([8]);
    expect(c.namedParameters().map(([n]) => n)).toEqual(['weight', 'bias']);
    expect(c.parameterInfos().map((p) => p.role)).toEqual(['weight', 'bias']);
    expect(new Conv2d(3, 8, 1, { bias: false, backend }).namedParameters().map(([n]) => n)).toEqual(['weight']);
  });
});

describe('initialization', () => {
  it('Conv2d weights are Kaiming normal, fan_out, relu gain: std sqrt(2 / (out*kh*kw))', async () => {
    const c = new Conv2d(64, 256, 3, { bias: false, rng: new Random(5), backend: cpu() });
    const s = stats(await c.weight.data());
    const want = Math.sqrt(2 / (256 * 9));
    expect(Math.abs(s.mean)).toBeLessThan(want * 0.02);
    expect(Math.abs(s.std / want - 1)).toBeLessThan(0.01); // 147k samples: sampling error ~0.2%
  });

  it('Linear is uniform in +-1/sqrt(fan_in) for weight and bias; BN gamma 1 beta 0', async () => {
    const backend = cpu();
    const l = new Linear(100, 400, { rng: new Random(3), backend });
    const w = await l.weight.data();
    const bound = 1 / Math.sqrt(100);
    expect(Math.max(...w)).toBeLessThanOrEqual(bound);
    expect(Math.min(...w)).toBeGreaterThanOrEqual(-bound);
    expect(Math.abs(stats(w).std - bound / Math.sqrt(3))).toBeLessThan(0.01 * bound);
    expect(Math.max(...(await l.bias!.data()).map(Math.abs))).toBeLessThanOrEqual(bound);
    const bn = new BatchNorm2d(5, { backend });
    expect(await values(bn.weight!)).toEqual([1, 1, 1, 1, 1]);
    expect(await values(bn.bias!)).toEqual([0, 0, 0, 0, 0]);
    expect(await values(bn.runningMean!)).toEqual([0, 0, 0, 0, 0]);
    expect(await values(bn.runningVar!)).toEqual([1, 1, 1, 1, 1]);
    expect(await bn.numBatchesTracked!.item()).toBe(0);
  });

  it('the same seed gives the same weights; another seed different ones', async () => {
    const a = new Net(cpu(), new Random(9));
    const b = new Net(cpu(), new Random(9));
    const c = new Net(cpu(), new Random(10));
    for (const [n, t] of a.stateDict()) expect(await values(b.stateDict().get(n)!)).toEqual(await values(t));
    expect(await values(c.head.weight)).not.toEqual(await values(a.head.weight));
  });

  it('kaimingUniform is U(-b, b) with b = gain * sqrt(3 / fan) (torch.nn.init.kaiming_uniform_)', async () => {
    const backend = cpu();
    const check = async (shape: number[], opts: init.KaimingOptions, bound: number) => {
      const t = init.kaimingUniform(shape, { ...opts, rng: new Random(4), backend });
      const w = await t.data();
      t.dispose();
      const at = `${JSON.stringify(shape)} ${JSON.stringify(opts)}`;
      let lo = Infinity, hi = -Infinity;
      for (const v of w) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      expect(hi, at).toBeLessThanOrEqual(bound);
      expect(lo, at).toBeGreaterThanOrEqual(-bound);
      expect(hi, at).toBeGreaterThan(0.99 * bound); // fills the range
      expect(lo, at).toBeLessThan(-0.99 * bound);
      const s = stats(w);
      expect(Math.abs(s.mean), at).toBeLessThan(0.02 * bound);
      expect(Math.abs(s.std / (bound / Math.sqrt(3)) - 1), at).toBeLessThan(0.01); // 147k samples
    };
    const shape = [256, 64, 3, 3]; // fan_in 576, fan_out 2304
    await check(shape, {}, Math.SQRT2 * Math.sqrt(3 / 576));
    await check(shape, { mode: 'fan_out' }, Math.SQRT2 * Math.sqrt(3 / 2304));
    await check(shape, { nonlinearity: 'leaky_relu', a: Math.sqrt(5) }, Math.sqrt(2 / 6) * Math.sqrt(3 / 576)); // PyTorch's Linear/Conv default: 1/sqrt(fan_in)
    await check(shape, { nonlinearity: 'tanh' }, (5 / 3) * Math.sqrt(3 / 576));
    expect(() => init.kaimingUniform([3, 0], { backend })).toThrow(/zero fan for weight \[3,0\]/);
    expect(() => init.kaimingUniform([4, 3], { mode: 'fan_sideways' as init.FanMode, backend })).toThrow(/mode must be 'fan_in' or 'fan_out'/);
  });

  it('init helpers follow torch.nn.init', () => {
    expect(init.fans([8, 3, 5, 5])).toEqual({ fanIn: 75, fanOut: 200 });
    expect(() => init.fans([8])).toThrow(/rank >= 2/);
    expect(init.calculateGain('relu')).toBeCloseTo(Math.SQRT2);
    expect(init.calculateGain('leaky_relu', 0)).toBeCloseTo(Math.SQRT2);
    expect(init.calculateGain('tanh')).toBeCloseTo(5 / 3);
  });
});

describe('BatchNorm layers', () => {
  it('training normalizes with batch statistics and updates running stats; eval uses them', async () => {
    const backend = cpu();
    const bn = new BatchNorm1d(3, { backend });
    const x = randn([64, 3], { rng: new Random(4), backend, mean: 2, std: 3 });
    const y = bn.forward(x);
    const m = tidy(() => mean(y, 0));
    const v = tidy(() => variance(y, 0));
    expectClose(await m.data(), [0, 0, 0], { atol: 1e-5 });
    expectClose(await v.data(), [1, 1, 1], { atol: 1e-3 });
    const xm = await values(tidy(() => mean(x, 0)));
    expectClose(await bn.runningMean!.data(), xm.map((u) => 0.1 * u), { atol: 1e-5 });
    // num_batches_tracked counts training forwards.
    bn.forward(x).dispose();
    expect(await bn.stateDict().get('num_batches_tracked')!.item()).toBe(2);
    bn.eval();
    const rm = await values(bn.runningMean!);
    const rv = await values(bn.runningVar!);
    const ye = bn.forward(x);
    const xs = await values(x);
    const ys = await values(ye);
    const want = xs.map((u, i) => (u - rm[i % 3]) / Math.sqrt(rv[i % 3] + 1e-5));
    expectClose(ys, want, { atol: 1e-4 });
    expect(await values(bn.runningMean!)).toEqual(rm); // eval does not update
    expect(await bn.stateDict().get('num_batches_tracked')!.item()).toBe(2);
    expect(() => bn.forward(randn([4, 3, 2, 2], { backend }))).toThrow(/BatchNorm1d: expected input \[N,3\] or \[N,3,L\]/);
    // [N, C, L] normalizes over N and L per channel.
    const b3 = new BatchNorm1d(3, { backend });
    const z = b3.forward(randn([4, 3, 5], { rng: new Random(6), backend, mean: 1 }));
    expect(z.shape).toEqual([4, 3, 5]);
    expectClose(await tidy(() => mean(z, [0, 2])).data(), [0, 0, 0], { atol: 1e-5 });
    expect(() => bn.forward(randn([4, 5], { backend }))).toThrow(/BatchNorm1d: expected 3 channels/);
  });

  it('BatchNorm2d on WebGPU matches the CPU reference and counts batches', async () => {
    const g = await gpu();
    const run = async (backend: CpuBackend | typeof g) => {
      const bn = new BatchNorm2d(4, { backend });
      const x = randn([2, 4, 3, 3], { rng: new Random(8), backend });
      const y = await values(bn.forward(x));
      bn.forward(x);
      const nbt = await bn.stateDict().get('num_batches_tracked')!.item();
      const rv = await values(bn.runningVar!);
      bn.eval();
      const e = await values(bn.forward(x));
      bn.dispose();
      return { y, nbt, rv, e };
    };
    const c = await run(cpu());
    const w = await run(g);
    expectClose(w.y, c.y, { atol: 1e-4 });
    expectClose(w.rv, c.rv, { atol: 1e-5 });
    expectClose(w.e, c.e, { atol: 1e-4 });
    expect(w.nbt).toBe(2);
  });

  it('eval-mode output of a whole module is deterministic', async () => {
    const net = new Net();
    net.eval();
    const x = randn([2, 3, 5, 5], { rng: new Random(1), backend: net.head.weight.backend });
    const a = await values(net.call(x));
    const b = await values(net.call(x));
    expect(a).toEqual(b);
    expect(a.length).toBe(4);
    const d = tidy(() => sub(net.call(x), net.call(x)));
    expect(await values(d)).toEqual([0, 0, 0, 0]);
  });
});
