import { conv2d, conv2dBackwardInput, conv2dBackwardWeight, type Conv2dOptions } from '../../engine/ops/conv.js';
import { batchNorm } from '../../engine/ops/norm.js';
import { relu } from '../../engine/ops/elementwise.js';
import { maxPool2d } from '../../engine/ops/pool.js';
import type { Tensor } from '../../engine/tensor.js';
import { polynomial, type OpCase } from './types.js';

// f32 accumulation over K terms: loosen the tolerance with K.
const tolFor = (k: number) => ({ atol: 1e-5 * Math.max(1, Math.sqrt(k)), rtol: 1e-4 });

interface Spec { name: string; x: number[]; w: number[]; bias?: boolean; opts?: Conv2dOptions; gradcheck?: boolean }

const SPECS: Spec[] = [
  // gradient-checked (tiny)
  { name: '3x3 stride 1 padding 1, bias', x: [1, 2, 5, 5], w: [3, 2, 3, 3], bias: true, opts: { padding: 1 } },
  { name: '3x3 stride 2 padding 1', x: [2, 2, 5, 5], w: [3, 2, 3, 3], opts: { stride: 2, padding: 1 } },
  { name: '1x1 stride 2 (downsample)', x: [2, 3, 5, 5], w: [4, 3, 1, 1], opts: { stride: 2 } },
  { name: '1x1 stride 1, bias', x: [2, 3, 4, 4], w: [5, 3, 1, 1], bias: true },
  { name: '7x7 stride 2 padding 3', x: [1, 2, 9, 9], w: [2, 2, 7, 7], opts: { stride: 2, padding: 3 } },
  { name: 'odd C=3 O=5 7x7 3x3 stride 2 padding 1, bias', x: [1, 3, 7, 7], w: [5, 3, 3, 3], bias: true, opts: { stride: 2, padding: 1 } },
  { name: 'dilation 2 padding 2', x: [1, 2, 7, 7], w: [2, 2, 3, 3], opts: { padding: 2, dilation: 2 } },
  { name: 'asymmetric 2x3 stride [2,1] padding [0,1] dilation [1,2]', x: [2, 2, 6, 7], w: [3, 2, 2, 3], bias: true, opts: { stride: [2, 1], padding: [0, 1], dilation: [1, 2] } },
  { name: '3x3 no padding, stride 3', x: [1, 2, 8, 8], w: [2, 2, 3, 3], opts: { stride: 3 } },
  // GPU vs CPU forward and backward at ResNet-like sizes (gradcheck would take minutes)
  { name: 'N=2 C=16 16x16 O=32 3x3 padding 1, bias', x: [2, 16, 16, 16], w: [32, 16, 3, 3], bias: true, opts: { padding: 1 }, gradcheck: false },
  { name: 'N=2 C=16 16x16 O=32 3x3 stride 2 padding 1', x: [2, 16, 16, 16], w: [32, 16, 3, 3], opts: { stride: 2, padding: 1 }, gradcheck: false },
  { name: 'N=2 C=16 16x16 O=32 1x1 stride 2', x: [2, 16, 16, 16], w: [32, 16, 1, 1], opts: { stride: 2 }, gradcheck: false },
  { name: 'stem N=2 C=3 16x16 O=16 3x3 padding 1', x: [2, 3, 16, 16], w: [16, 3, 3, 3], opts: { padding: 1 }, gradcheck: false },
  { name: 'N=2 C=3 20x20 O=8 7x7 stride 2 padding 3, bias', x: [2, 3, 20, 20], w: [8, 3, 7, 7], bias: true, opts: { stride: 2, padding: 3 }, gradcheck: false },
  // long weight-gradient reductions (split over workgroups), with P % 4 == 0 and odd P
  { name: 'N=4 C=8 32x32 O=8 3x3 padding 1 (split reduction)', x: [4, 8, 32, 32], w: [8, 8, 3, 3], opts: { padding: 1 }, gradcheck: false },
  { name: 'N=8 C=4 25x25 O=6 3x3 padding 1 (split, odd P)', x: [8, 4, 25, 25], w: [6, 4, 3, 3], opts: { padding: 1 }, gradcheck: false },
];

const cases: OpCase[] = [];
for (const s of SPECS) {
  const [, C, ,] = s.x;
  const [O, , KH, KW] = s.w;
  const inputs = [{ shape: s.x }, { shape: s.w }, ...(s.bias ? [{ shape: [O] }] : [])];
  const reduce = Math.max(C * KH * KW, s.x[0] * s.x[2] * s.x[3], O * KH * KW);
  cases.push({
    name: `conv2d ${s.name} x${JSON.stringify(s.x)} w${JSON.stringify(s.w)}`,
    ops: ['conv2d', 'conv2dBackwardInput', 'conv2dBackwardWeight', ...(s.bias ? ['sum'] : [])],
    fn: (x: Tensor, w: Tensor, b?: Tensor) => conv2d(x, w, b ?? null, s.opts),
    inputs,
    tol: tolFor(reduce),
    gradcheck: s.gradcheck,
  });
}

// The gradient ops on their own: their backward rules (conv2d, the other gradient op) gradient-checked.
const dg = { stride: 2, padding: 1 } as const;
cases.push({
  name: 'conv2dBackwardInput 3x3 stride 2 padding 1, input 7x7 (g [2,3,4,4], w [3,2,3,3])',
  ops: ['conv2dBackwardInput', 'conv2d', 'conv2dBackwardWeight'],
  fn: (g: Tensor, w: Tensor) => conv2dBackwardInput(g, w, [7, 7], dg),
  inputs: [{ shape: [2, 3, 4, 4] }, { shape: [3, 2, 3, 3] }],
});
cases.push({
  name: 'conv2dBackwardInput 3x3 stride 2 padding 1, input 8x8 (output padding)',
  ops: ['conv2dBackwardInput'],
  fn: (g: Tensor, w: Tensor) => conv2dBackwardInput(g, w, [8, 8], dg),
  inputs: [{ shape: [1, 3, 4, 4] }, { shape: [3, 2, 3, 3] }],
});
cases.push({
  name: 'conv2dBackwardWeight 3x3 stride 2 padding 1 (x [2,2,7,7], g [2,3,4,4])',
  ops: ['conv2dBackwardWeight', 'conv2d', 'conv2dBackwardInput'],
  fn: (x: Tensor, g: Tensor) => conv2dBackwardWeight(x, g, [3, 3], dg),
  inputs: [{ shape: [2, 2, 7, 7] }, { shape: [2, 3, 4, 4] }],
});
cases.push({
  name: 'conv2dBackwardWeight 2x2 dilation 2 (x [1,3,6,5], g [1,2,4,3])',
  ops: ['conv2dBackwardWeight'],
  fn: (x: Tensor, g: Tensor) => conv2dBackwardWeight(x, g, [2, 2], { dilation: 2 }),
  inputs: [{ shape: [1, 3, 6, 5] }, { shape: [1, 2, 4, 3] }],
});

// Everything above is linear in each input.
const linear = polynomial(cases.splice(0));

// The ImageNet stem as nn/resnet.ts builds it (conv 7x7/2 without bias, batch norm, ReLU, max-pool
// 3x3/2): C = 3 takes the col2im input gradient, whose scratch the WebGPU run must give back.
cases.push({
  name: 'ImageNet stem: conv 7x7/2 p3, batch norm, ReLU, max-pool 3x3/2 p1 (x [2,3,12,12], w [4,3,7,7])',
  ops: ['conv2d', 'conv2dBackwardInput', 'conv2dBackwardWeight', 'batchNorm', 'batchNormTrain', 'batchNormBackward', 'relu', 'maxPool2d', 'maxPool2dBackward'],
  fn: (x: Tensor, w: Tensor, g: Tensor, b: Tensor) => maxPool2d(relu(batchNorm(conv2d(x, w, null, { stride: 2, padding: 3 }), g, b, { training: true })), { kernel: 3, stride: 2, padding: 1 }),
  inputs: [{ shape: [2, 3, 12, 12] }, { shape: [4, 3, 7, 7] }, { shape: [4], low: 0.5, high: 1.5 }, { shape: [4] }],
  tol: tolFor(147),
});

export const convCases: OpCase[] = [...linear, ...cases];
