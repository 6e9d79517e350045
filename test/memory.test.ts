/**
 * GPU memory is the scarce resource: a training loop must not leak. 200 iterations of forward,
 * backward and optimizer update keep live buffers and bytes exactly flat after the first steps.
 */
import { describe, expect, it } from 'vitest';
import { backward } from '../engine/autograd.js';
import { CpuBackend } from '../engine/cpu/backend.js';
import { Random } from '../engine/random.js';
import { tidy } from '../engine/tensor.js';
import { crossEntropy, randint, randn } from '../engine/ops/index.js';
import type { Backend } from '../engine/backend.js';
import { Linear, ReLU, Sequential, SGD, resnet18 } from '../nn/index.js';
import { gpu } from './helpers.js';

async function trainLoop(backend: Backend, iterations: number) {
  const rng = new Random(11);
  const model = new Sequential(new Linear(8, 16, { rng, backend }), new ReLU(), new Linear(16, 4, { rng, backend }));
  const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 1e-4 });
  const x = randn([32, 8], { rng, backend });
  const labels = randint(0, 4, [32], { rng, backend });
  const snapshots: ReturnType<Backend['memory']>[] = [];
  const losses: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const loss = tidy(() => crossEntropy(model.call(x), labels));
    opt.zeroGrad();
    backward(loss);
    opt.step();
    if (i === 0 || i === iterations - 1) losses.push(await loss.item());
    loss.dispose();
    if (i === 4 || i === iterations - 1) { await backend.sync(); snapshots.push(backend.memory()); }
  }
  opt.zeroGrad();
  opt.dispose();
  model.dispose();
  x.dispose();
  labels.dispose();
  return { snapshots, losses, after: backend.memory() };
}

describe('memory', () => {
  it('200 training iterations on WebGPU leak no buffers', async () => {
    const g = await gpu();
    const base = g.memory();
    const { snapshots, losses, after } = await trainLoop(g, 200);
    expect(snapshots[1].liveBuffers).toBe(snapshots[0].liveBuffers);
    expect(snapshots[1].liveBytes).toBe(snapshots[0].liveBytes);
    // The pool stops growing once the first iterations have warmed it.
    expect(snapshots[1].pooledBuffers + snapshots[1].liveBuffers).toBe(snapshots[0].pooledBuffers + snapshots[0].liveBuffers);
    expect(after.liveBuffers).toBe(base.liveBuffers);
    expect(after.liveBytes).toBe(base.liveBytes);
    expect(losses[1]).toBeLessThan(losses[0] * 0.5); // it did train
  });

  it('50 ResNet-18 training steps (BN running stats, momentum SGD) on WebGPU leak no buffers and create no bind groups after the first ten', async () => {
    const g = await gpu();
    const base = g.memory();
    const rng = new Random(5);
    const model = resnet18({ stem: 'cifar', width: 1 / 16, numClasses: 10, rng, backend: g });
    const opt = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
    const x = randn([4, 3, 16, 16], { rng, backend: g });
    const labels = randint(0, 10, [4], { rng, backend: g });
    const snaps: ReturnType<typeof g.memory>[] = [];
    const bindGroups: number[] = [];
    for (let i = 0; i < 50; i++) {
      const loss = tidy(() => crossEntropy(model.call(x), labels));
      opt.zeroGrad();
      backward(loss);
      opt.step();
      loss.dispose();
      if (i === 2 || i === 49) { await g.sync(); snaps.push(g.memory()); }
      if (i === 9 || i === 49) bindGroups.push(g.bindGroupCount);
    }
    // the steps settle on the same buffers (the pool hands out its earliest-created free buffer),
    // so their bind groups come from the cache: none created after the first steps
    expect(bindGroups[1] - bindGroups[0]).toBe(0);
    expect(snaps[1].liveBuffers).toBe(snaps[0].liveBuffers);
    expect(snaps[1].liveBytes).toBe(snaps[0].liveBytes);
    expect(snaps[1].liveBuffers + snaps[1].pooledBuffers).toBe(snaps[0].liveBuffers + snaps[0].pooledBuffers);
    opt.zeroGrad(); opt.dispose(); model.dispose(); x.dispose(); labels.dispose();
    expect(g.memory().liveBuffers).toBe(base.liveBuffers);
    expect(g.memory().liveBytes).toBe(base.liveBytes);
  });

  it('the same loop on the CPU backend frees everything', async () => {
    const c = new CpuBackend();
    const { snapshots, after } = await trainLoop(c, 30);
    expect(snapshots[1].liveBuffers).toBe(snapshots[0].liveBuffers);
    expect(after.liveBuffers).toBe(0);
  });
});
