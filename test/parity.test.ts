/**
 * Parity with PyTorch: a torchvision ResNet-18 (CIFAR stem, widths 8..64) on 4 CIFAR-10 test
 * images, reference computed by test/fixtures/make_fixtures.py in float64. Compared, in training
 * mode: logits, mean cross-entropy, every parameter gradient; after one SGD step (lr 0.1, momentum
 * 0.9, weight decay 5e-4): every parameter and the BN running statistics; then eval-mode logits.
 *
 * Tolerance: |ours - ref| <= rtol*|ref| + atol*max|ref| per tensor, with rtol 1e-3 and atol 1e-4 on
 * WebGPU (f32 arithmetic against a float64 reference through ~20 layers) and 1e-6 / 1e-7 on the CPU
 * backend (float64 throughout).
 */
import { describe, expect, it } from 'vitest';
import { backward } from '../engine/autograd.js';
import { CpuBackend } from '../engine/cpu/backend.js';
import { tidy } from '../engine/tensor.js';
import { crossEntropy } from '../engine/ops/index.js';
import type { Backend } from '../engine/backend.js';
import { entryToTensor, loadSafetensors, resnet18, SGD } from '../nn/node.js';
import { expectTensorClose, gpu } from './helpers.js';

const FIXTURE = new URL('./fixtures/resnet18_cifar_w0125.safetensors', import.meta.url).pathname;


async function runParity(backend: Backend, rtol: number, atol: number): Promise<void> {
  const file = await loadSafetensors(FIXTURE);
  const pick = (prefix: string) => new Map([...file].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
  const model = resnet18({ stem: 'cifar', width: 0.125, numClasses: 10, backend });
  model.loadStateDict(pick('init.'));
  const x = entryToTensor(file.get('input')!, { backend });
  const y = entryToTensor(file.get('labels')!, { backend });
  const close = async (name: string, t: { data(): Promise<ArrayLike<number>> }, key: string) =>
    expectTensorClose(name, await t.data(), file.get(key)!.data, rtol, atol);

  model.train();
  const { logits, loss } = tidy(() => {
    const logits = model.call(x);
    return { logits, loss: crossEntropy(logits, y) };
  });
  await close('train logits', logits, 'train.logits');
  await close('train loss', loss, 'train.loss');
  backward(loss);
  for (const [name, p] of model.namedParameters()) await close(`grad ${name}`, p.grad!, `grad.${name}`);

  const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
  opt.step();
  const after = pick('step.');
  const state = model.stateDict();
  expect([...state.keys()].sort()).toEqual([...after.keys()].sort());
  for (const [name, t] of state) await close(`after step ${name}`, t, `step.${name}`);

  model.eval();
  const evalLogits = tidy(() => model.call(x));
  await close('eval logits', evalLogits, 'eval.logits');

  [logits, loss, evalLogits, x, y].forEach((t) => t.dispose());
  opt.zeroGrad();
  opt.dispose();
  model.dispose();
}

describe('parity with PyTorch (torchvision ResNet-18, CIFAR stem, width 1/8)', () => {
  it('WebGPU: logits, loss, gradients, SGD step, BN running stats, eval logits', async () => {
    const g = await gpu();
    await runParity(g, 1e-3, 1e-4);
    expect(g.memory().liveBuffers).toBe(0);
  });

  it('CPU reference (float64): the same within 1e-6', async () => {
    const c = new CpuBackend();
    await runParity(c, 1e-6, 1e-7);
    expect(c.memory().liveBuffers).toBe(0);
  });
});
