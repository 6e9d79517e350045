/**
 * ResNet-18/34/50: torchvision's state-dict names and shapes exactly (a literal list for ResNet-18,
 * and the fixture written from torchvision 0.14 for all three), widths, stems, features, the
 * classifier option, zero-init of the residual BN, seeded init, train/eval, and forward shapes for
 * every depth and stem on tiny widths.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../engine/cpu/backend.js';
import { Random } from '../engine/random.js';
import { backward } from '../engine/autograd.js';
import { tidy, type Tensor } from '../engine/tensor.js';
import { crossEntropy, randint, randn } from '../engine/ops/index.js';
import { BatchNorm2d, Bottleneck, Conv2d, resnet18, resnet34, resnet50, type ResNet, type ResNetOptions } from '../nn/index.js';
import { expectClose, gpu } from './helpers.js';

const cpu = () => new CpuBackend();
const shapes = (m: ResNet) => [...m.stateDict()].map(([n, t]) => [n, [...t.shape]]);

/** torchvision.models.resnet18().state_dict(): names and shapes, in order (torchvision 0.14). */
const TORCHVISION_RESNET18: [string, number[]][] = [
    ['conv1.weight', [64, 3, 7, 7]],
    ['bn1.weight', [64]],
    ['bn1.bias', [64]],
    ['bn1.running_mean', [64]],
    ['bn1.running_var', [64]],
    ['bn1.num_batches_tracked', []],
    ['layer1.0.conv1.weight', [64, 64, 3, 3]],
    ['layer1.0.bn1.weight', [64]],
    ['layer1.0.bn1.bias', [64]],
    ['layer1.0.bn1.running_mean', [64]],
    ['layer1.0.bn1.running_var', [64]],
    ['layer1.0.bn1.num_batches_tracked', []],
    ['layer1.0.conv2.weight', [64, 64, 3, 3]],
    ['layer1.0.bn2.weight', [64]],
    ['layer1.0.bn2.bias', [64]],
    ['layer1.0.bn2.running_mean', [64]],
    ['layer1.0.bn2.running_var', [64]],
    ['layer1.0.bn2.num_batches_tracked', []],
    ['layer1.1.conv1.weight', [64, 64, 3, 3]],
    ['layer1.1.bn1.weight', [64]],
    ['layer1.1.bn1.bias', [64]],
    ['layer1.1.bn1.running_mean', [64]],
    ['layer1.1.bn1.running_var', [64]],
    ['layer1.1.bn1.num_batches_tracked', []],
    ['layer1.1.conv2.weight', [64, 64, 3, 3]],
    ['layer1.1.bn2.weight', [64]],
    ['layer1.1.bn2.bias', [64]],
    ['layer1.1.bn2.running_mean', [64]],
    ['layer1.1.bn2.running_var', [64]],
    ['layer1.1.bn2.num_batches_tracked', []],
    ['layer2.0.conv1.weight', [128, 64, 3, 3]],
    ['layer2.0.bn1.weight', [128]],
    ['layer2.0.bn1.bias', [128]],
    ['layer2.0.bn1.running_mean', [128]],
    ['layer2.0.bn1.running_var', [128]],
    ['layer2.0.bn1.num_batches_tracked', []],
    ['layer2.0.conv2.weight', [128, 128, 3, 3]],
    ['layer2.0.bn2.weight', [128]],
    ['layer2.0.bn2.bias', [128]],
    ['layer2.0.bn2.running_mean', [128]],
    ['layer2.0.bn2.running_var', [128]],
    ['layer2.0.bn2.num_batches_tracked', []],
    ['layer2.0.downsample.0.weight', [128, 64, 1, 1]],
    ['layer2.0.downsample.1.weight', [128]],
    ['layer2.0.downsample.1.bias', [128]],
    ['layer2.0.downsample.1.running_mean', [128]],
    ['layer2.0.downsample.1.running_var', [128]],
    ['layer2.0.downsample.1.num_batches_tracked', []],
    ['layer2.1.conv1.weight', [128, 128, 3, 3]],
    ['layer2.1.bn1.weight', [128]],
    ['layer2.1.bn1.bias', [128]],
    ['layer2.1.bn1.running_mean', [128]],
    ['layer2.1.bn1.running_var', [128]],
    ['layer2.1.bn1.num_batches_tracked', []],
    ['layer2.1.conv2.weight', [128, 128, 3, 3]],
    ['layer2.1.bn2.weight', [128]],
    ['layer2.1.bn2.bias', [128]],
    ['layer2.1.bn2.running_mean', [128]],
    ['layer2.1.bn2.running_var', [128]],
    ['layer2.1.bn2.num_batches_tracked', []],
    ['layer3.0.conv1.weight', [256, 128, 3, 3]],
    ['layer3.0.bn1.weight', [256]],
    ['layer3.0.bn1.bias', [256]],
    ['layer3.0.bn1.running_mean', [256]],
    ['layer3.0.bn1.running_var', [256]],
    ['layer3.0.bn1.num_batches_tracked', []],
    ['layer3.0.conv2.weight', [256, 256, 3, 3]],
    ['layer3.0.bn2.weight', [256]],
    ['layer3.0.bn2.bias', [256]],
    ['layer3.0.bn2.running_mean', [256]],
    ['layer3.0.bn2.running_var', [256]],
    ['layer3.0.bn2.num_batches_tracked', []],
    ['layer3.0.downsample.0.weight', [256, 128, 1, 1]],
    ['layer3.0.downsample.1.weight', [256]],
    ['layer3.0.downsample.1.bias', [256]],
    ['layer3.0.downsample.1.running_mean', [256]],
    ['layer3.0.downsample.1.running_var', [256]],
    ['layer3.0.downsample.1.num_batches_tracked', []],
    ['layer3.1.conv1.weight', [256, 256, 3, 3]],
    ['layer3.1.bn1.weight', [256]],
    ['layer3.1.bn1.bias', [256]],
    ['layer3.1.bn1.running_mean', [256]],
    ['layer3.1.bn1.running_var', [256]],
    ['layer3.1.bn1.num_batches_tracked', []],
    ['layer3.1.conv2.weight', [256, 256, 3, 3]],
    ['layer3.1.bn2.weight', [256]],
    ['layer3.1.bn2.bias', [256]],
    ['layer3.1.bn2.running_mean', [256]],
    ['layer3.1.bn2.running_var', [256]],
    ['layer3.1.bn2.num_batches_tracked', []],
    ['layer4.0.conv1.weight', [512, 256, 3, 3]],
    ['layer4.0.bn1.weight', [512]],
    ['layer4.0.bn1.bias', [512]],
    ['layer4.0.bn1.running_mean', [512]],
    ['layer4.0.bn1.running_var', [512]],
    ['layer4.0.bn1.num_batches_tracked', []],
    ['layer4.0.conv2.weight', [512, 512, 3, 3]],
    ['layer4.0.bn2.weight', [512]],
    ['layer4.0.bn2.bias', [512]],
    ['layer4.0.bn2.running_mean', [512]],
    ['layer4.0.bn2.running_var', [512]],
    ['layer4.0.bn2.num_batches_tracked', []],
    ['layer4.0.downsample.0.weight', [512, 256, 1, 1]],
    ['layer4.0.downsample.1.weight', [512]],
    ['layer4.0.downsample.1.bias', [512]],
    ['layer4.0.downsample.1.running_mean', [512]],
    ['layer4.0.downsample.1.running_var', [512]],
    ['layer4.0.downsample.1.num_batches_tracked', []],
    ['layer4.1.conv1.weight', [512, 512, 3, 3]],
    ['layer4.1.bn1.weight', [512]],
    ['layer4.1.bn1.bias', [512]],
    ['layer4.1.bn1.running_mean', [512]],
    ['layer4.1.bn1.running_var', [512]],
    ['layer4.1.bn1.num_batches_tracked', []],
    ['layer4.1.conv2.weight', [512, 512, 3, 3]],
    ['layer4.1.bn2.weight', [512]],
    ['layer4.1.bn2.bias', [512]],
    ['layer4.1.bn2.running_mean', [512]],
    ['layer4.1.bn2.running_var', [512]],
    ['layer4.1.bn2.num_batches_tracked', []],
    ['fc.weight', [1000, 512]],
    ['fc.bias', [1000]],
];

const fixture = JSON.parse(readFileSync(new URL('./fixtures/torchvision_names.json', import.meta.url), 'utf8')) as
  Record<'resnet18' | 'resnet34' | 'resnet50', [string, number[], string][]>;

describe('ResNet state-dict names', () => {
  it('resnet18 (width 1, ImageNet stem, 1000 classes) has torchvision\'s 122 entries, in order', () => {
    const m = resnet18({ numClasses: 1000, backend: cpu() });
    expect(TORCHVISION_RESNET18.length).toBe(122);
    expect(shapes(m)).toEqual(TORCHVISION_RESNET18);
    expect(m.features).toBe(512);
    expect(m.numParameters()).toBe(11_689_512);
    expect(m.namedParameters().length).toBe(62);
    expect(m.namedBuffers().length).toBe(60);
    m.dispose();
  });

  for (const [name, make] of [['resnet18', resnet18], ['resnet34', resnet34], ['resnet50', resnet50]] as const) {
    it(`${name} matches the names, shapes and dtypes written by torchvision`, () => {
      const m = make({ numClasses: 1000, backend: cpu() });
      const want = fixture[name].map(([n, s, d]) => [n, s, d === 'I64' ? 'i32' : d === 'F32' ? 'f32' : d]);
      expect([...m.stateDict()].map(([n, t]) => [n, [...t.shape], t.dtype])).toEqual(want);
      m.dispose();
    });
  }

  it('resnet50: 320 entries, Bottleneck shapes, downsample in every stage', () => {
    const m = resnet50({ numClasses: 1000, backend: cpu() });
    const sd = new Map(shapes(m) as [string, number[]][]);
    expect(sd.size).toBe(320);
    expect(m.namedParameters().length).toBe(161);
    expect(m.numParameters()).toBe(25_557_032);
    expect(m.features).toBe(2048);
    expect(sd.get('conv1.weight')).toEqual([64, 3, 7, 7]);
    expect(sd.get('layer1.0.conv1.weight')).toEqual([64, 64, 1, 1]);
    expect(sd.get('layer1.0.conv2.weight')).toEqual([64, 64, 3, 3]);
    expect(sd.get('layer1.0.conv3.weight')).toEqual([256, 64, 1, 1]);
    expect(sd.get('layer1.0.bn3.running_var')).toEqual([256]);
    expect(sd.get('layer1.0.downsample.0.weight')).toEqual([256, 64, 1, 1]);
    expect(sd.get('layer1.1.conv1.weight')).toEqual([64, 256, 1, 1]);
    expect(sd.get('layer2.0.conv1.weight')).toEqual([128, 256, 1, 1]);
    expect(sd.get('layer2.0.downsample.0.weight')).toEqual([512, 256, 1, 1]);
    expect(sd.get('layer3.5.bn3.num_batches_tracked')).toEqual([]);
    expect(sd.get('layer4.0.downsample.1.weight')).toEqual([2048]);
    expect(sd.get('layer4.2.conv3.weight')).toEqual([2048, 512, 1, 1]);
    expect(sd.get('fc.weight')).toEqual([1000, 2048]);
    expect(sd.get('fc.bias')).toEqual([1000]);
    expect(sd.has('layer1.1.downsample.0.weight')).toBe(false);
    // v1.5: the stride is on the 3x3 conv.
    const b = m.layer2.at(0) as Bottleneck;
    expect(b.conv1.stride).toEqual([1, 1]);
    expect(b.conv2.stride).toEqual([2, 2]);
    expect((b.downsample!.at(0) as Conv2d).stride).toEqual([2, 2]);
    m.dispose();
  });

  it('resnet34 has 218 entries and no downsample in layer1', () => {
    const m = resnet34({ numClasses: 1000, backend: cpu() });
    expect(m.stateDict().size).toBe(218);
    expect(m.numParameters()).toBe(21_797_672);
    expect([...m.stateDict().keys()].some((k) => k.startsWith('layer1.0.downsample'))).toBe(false);
    m.dispose();
  });

  it('without numClasses there is no fc and the model gives h; convs have no bias', () => {
    const m = resnet18({ width: 0.125, backend: cpu() });
    expect(m.fc).toBeNull();
    expect([...m.stateDict().keys()].some((k) => k.startsWith('fc.'))).toBe(false);
    expect(m.stateDict().size).toBe(120);
    expect(m.parameterInfos().filter((p) => p.role === 'bias').length).toBe(0);
    expect(m.parameterInfos().filter((p) => p.role === 'bn').length).toBe(40);
    m.dispose();
  });
});

describe('ResNet options', () => {
  it('width scales the base widths (at least 1 channel) and features', () => {
    const backend = cpu();
    const a = resnet18({ width: 0.125, backend });
    expect(a.widths).toEqual([8, 16, 32, 64]);
    expect(a.features).toBe(64);
    expect(a.stateDict().get('layer4.1.conv2.weight')!.shape).toEqual([64, 64, 3, 3]);
    const b = resnet50({ width: 0.125, backend });
    expect(b.features).toBe(256);
    const c = resnet18({ width: 0.001, backend });
    expect(c.widths).toEqual([1, 1, 1, 1]);
    const d = resnet50({ width: 0.3, numClasses: 10, backend: cpu() });
    expect(d.widths).toEqual([19, 38, 77, 154]);
    expect(d.features).toBe(616);
    expect(d.stateDict().get('fc.weight')!.shape).toEqual([10, 616]);
    [a, b, c, d].forEach((m) => m.dispose());
    expect(() => resnet18({ width: 0 })).toThrow(/ResNet: width must be a positive number/);
    expect(() => resnet18({ stem: 'tiny' as never })).toThrow(/ResNet: stem must be 'imagenet' or 'cifar'/);
    expect(() => resnet18({ numClasses: 0 })).toThrow(/ResNet: numClasses/);
  });

  it('stems: ImageNet 7x7/2 conv + max-pool, CIFAR 3x3/1 conv and no max-pool; same names', () => {
    const backend = cpu();
    const a = resnet18({ width: 0.125, backend });
    expect(a.conv1.weight.shape).toEqual([8, 3, 7, 7]);
    expect(a.conv1.stride).toEqual([2, 2]);
    expect(a.conv1.padding).toEqual([3, 3]);
    expect(a.maxpool!.kernelSize).toEqual([3, 3]);
    expect(a.maxpool!.stride).toEqual([2, 2]);
    expect(a.maxpool!.padding).toEqual([1, 1]);
    const b = resnet18({ width: 0.125, stem: 'cifar', backend });
    expect(b.conv1.weight.shape).toEqual([8, 3, 3, 3]);
    expect(b.conv1.stride).toEqual([1, 1]);
    expect(b.conv1.padding).toEqual([1, 1]);
    expect(b.maxpool).toBeNull();
    expect([...b.stateDict().keys()]).toEqual([...a.stateDict().keys()]);
  });

  it('zeroInitResidual zeroes the last BN gamma of every block only', async () => {
    const backend = cpu();
    for (const make of [resnet18, resnet50]) {
      const m = make({ width: 0.125, zeroInitResidual: true, backend });
      const last = make === resnet18 ? /layer\d\.\d\.bn2\.weight$/ : /layer\d\.\d\.bn3\.weight$/;
      let zeroed = 0;
      for (const [n, t] of m.stateDict()) {
        if (!n.endsWith('.weight') || t.rank !== 1 || n.startsWith('fc')) continue;
        const v = Array.from(await t.data());
        if (last.test(n)) { expect(v.every((x) => x === 0), n).toBe(true); zeroed++; } else expect(v.every((x) => x === 1), n).toBe(true);
      }
      expect(zeroed).toBe(make === resnet18 ? 8 : 16);
    }
  });

  it('convs are Kaiming normal (fan_out, relu); BN gamma 1 beta 0', async () => {
    const m = resnet18({ rng: new Random(3), backend: cpu() });
    const w = await m.stateDict().get('layer4.1.conv1.weight')!.data(); // 2.4M values
    let s = 0, q = 0;
    for (const v of w) { s += v; q += v * v; }
    const std = Math.sqrt(q / w.length - (s / w.length) ** 2);
    expect(std / Math.sqrt(2 / (512 * 9)) - 1).toBeLessThan(0.005);
    expect(std / Math.sqrt(2 / (512 * 9)) - 1).toBeGreaterThan(-0.005);
    expect(Array.from(await m.stateDict().get('layer2.0.downsample.1.bias')!.data()).every((v) => v === 0)).toBe(true);
    m.dispose();
  });

  it('the same seed gives the same model', async () => {
    const a = resnet18({ width: 0.125, numClasses: 10, rng: new Random(7), backend: cpu() });
    const b = resnet18({ width: 0.125, numClasses: 10, rng: new Random(7), backend: cpu() });
    const c = resnet18({ width: 0.125, numClasses: 10, rng: new Random(8), backend: cpu() });
    for (const [n, t] of a.stateDict()) expect(Array.from(await b.stateDict().get(n)!.data()), n).toEqual(Array.from(await t.data()));
    expect(Array.from(await c.conv1.weight.data())).not.toEqual(Array.from(await a.conv1.weight.data()));
  });

  it('train() and eval() reach every BatchNorm', () => {
    const m = resnet50({ width: 0.125, backend: cpu() });
    const bns = m.namedModules().filter(([, x]) => x instanceof BatchNorm2d);
    expect(bns.length).toBe(53);
    m.eval();
    expect(bns.every(([, x]) => !x.training)).toBe(true);
    m.train();
    expect(bns.every(([, x]) => x.training)).toBe(true);
  });
});

describe('ResNet forward', () => {
  const depths: [string, (o: ResNetOptions) => ResNet, number][] = [['resnet18', resnet18, 64], ['resnet34', resnet34, 64], ['resnet50', resnet50, 256]];
  for (const [name, make, features] of depths) {
    for (const stem of ['imagenet', 'cifar'] as const) {
      it(`${name} ${stem} stem, width 1/8: h [N, ${features}] and logits [N, 10]`, async () => {
        const backend = cpu();
        const rng = new Random(1);
        const size = stem === 'imagenet' ? 32 : 16;
        const x = randn([2, 3, size, size], { rng, backend });
        const m = make({ width: 0.125, stem, rng, backend });
        expect(m.features).toBe(features);
        const h = m.call(x);
        expect(h.shape).toEqual([2, features]);
        const f = make({ width: 0.125, stem, numClasses: 10, rng, backend });
        const y = f.call(x);
        expect(y.shape).toEqual([2, 10]);
        expect(Array.from(await y.data()).every(Number.isFinite)).toBe(true);
        // Training-mode forward counted one batch in every BN.
        expect(await f.stateDict().get('layer1.0.bn1.num_batches_tracked')!.item()).toBe(1);
        f.eval();
        const e = f.call(x);
        expect(e.shape).toEqual([2, 10]);
        expect(await f.stateDict().get('bn1.num_batches_tracked')!.item()).toBe(1);
      });
    }
  }

  it('a training step then dispose() leaves no live storage behind', async () => {
    const backend = cpu();
    const rng = new Random(2);
    const m = resnet18({ width: 0.125, stem: 'cifar', numClasses: 10, rng, backend });
    const x = randn([2, 3, 8, 8], { rng, backend });
    const labels = randint(0, 10, [2], { rng, backend });
    for (let i = 0; i < 2; i++) {
      const loss = tidy(() => crossEntropy(m.call(x), labels));
      backward(loss);
      loss.dispose();
    }
    expect(await m.stateDict().get('layer2.1.bn1.num_batches_tracked')!.item()).toBe(2);
    expect(m.parameters().every((p) => p.grad !== null)).toBe(true);
    m.zeroGrad();
    m.dispose();
    x.dispose();
    labels.dispose();
    expect(backend.memory().liveBuffers).toBe(0);
  });

  it('rejects inputs of the wrong rank or channel count, naming the shape', () => {
    const m = resnet18({ width: 0.125, backend: cpu() });
    expect(() => m.call(randn([2, 1, 8, 8], { backend: m.conv1.weight.backend }))).toThrow('ResNet: expected input [N,3,H,W], got [2,1,8,8]');
  });

  it('a training step of a tiny ResNet-18 on WebGPU matches the CPU reference', async () => {
    const run = async (backend: CpuBackend | Awaited<ReturnType<typeof gpu>>) => {
      const rng = new Random(5);
      const m = resnet18({ width: 0.125, stem: 'cifar', numClasses: 10, rng, backend });
      const x = randn([4, 3, 8, 8], { rng, backend });
      const labels = randint(0, 10, [4], { rng, backend });
      const loss = tidy(() => crossEntropy(m.call(x), labels));
      backward(loss);
      const out = {
        loss: await loss.item(),
        grad: Array.from(await m.conv1.weight.grad!.data()),
        rm: Array.from(await m.stateDict().get('layer4.1.bn2.running_mean')!.data()),
        evalOut: [] as number[],
      };
      m.eval();
      const e: Tensor = m.call(x);
      out.evalOut = Array.from(await e.data());
      m.dispose();
      return out;
    };
    const c = await run(cpu());
    const g = await run(await gpu());
    expect(g.loss).toBeCloseTo(c.loss, 4);
    expectClose(g.grad, c.grad, { atol: 1e-4, rtol: 1e-3 });
    expectClose(g.rm, c.rm, { atol: 1e-4, rtol: 1e-3 });
    expectClose(g.evalOut, c.evalOut, { atol: 1e-4, rtol: 1e-3 });
  });
});
