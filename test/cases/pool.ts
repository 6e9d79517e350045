import * as P from '../../engine/ops/pool.js';
import { runOp } from '../../engine/ops/registry.js';
import type { Tensor } from '../../engine/tensor.js';
import { polynomial, type OpCase } from './types.js';

const resnet = { kernel: 3, stride: 2, padding: 1 };

const maxCases: OpCase[] = [
  { name: 'maxPool2d k3 s2 p1 (ResNet stem) odd [2,3,9,7]', ops: ['maxPool2d'], fn: (x) => P.maxPool2d(x, resnet), inputs: [{ shape: [2, 3, 9, 7] }] },
  { name: 'maxPool2d k2 default stride [1,2,6,8]', ops: ['maxPool2d'], fn: (x) => P.maxPool2d(x, { kernel: 2 }), inputs: [{ shape: [1, 2, 6, 8] }] },
  { name: 'maxPool2d k[2,3] s[1,2] p[1,1] [2,2,5,7]', ops: ['maxPool2d'], fn: (x) => P.maxPool2d(x, { kernel: [2, 3], stride: [1, 2], padding: [1, 1] }),
    inputs: [{ shape: [2, 2, 5, 7] }] },
  { name: 'maxPool2d padding is -inf (all-negative input) [1,2,5,5]', ops: ['maxPool2d'], fn: (x) => P.maxPool2d(x, resnet), inputs: [{ shape: [1, 2, 5, 5], low: -3, high: -1 }] },
  { name: 'maxPool2d k3 s1 p1 overlapping [1,1,4,4]', ops: ['maxPool2d'], fn: (x) => P.maxPool2d(x, { kernel: 3, stride: 1, padding: 1 }), inputs: [{ shape: [1, 1, 4, 4] }] },
  // ties: the first maximum in window order gets the gradient (not differentiable there: no gradcheck)
  { name: 'maxPool2d ties route to the first max [1,1,4,5]', ops: ['maxPool2d'], fn: (x) => P.maxPool2d(x, resnet), gradcheck: false,
    inputs: [{ shape: [1, 1, 4, 5], values: [1, 1, 0, 2, 2, 1, 1, 0, 2, 2, 3, 3, 3, 0, 0, 3, 3, 3, 0, 0] }] },
  { name: 'maxPool2d k2 floor mode drops the last row and column [2,1,5,7]', ops: ['maxPool2d'], fn: (x) => P.maxPool2d(x, { kernel: 2 }), inputs: [{ shape: [2, 1, 5, 7] }] },
  { name: 'maxPool2d ResNet stem [8,64,32,32]', ops: ['maxPool2d'], fn: (x) => P.maxPool2d(x, resnet), gradcheck: false, inputs: [{ shape: [8, 64, 32, 32] }] },
  { name: 'maxPool2dBackward (from the argmax of [2,3,7,7] k3 s2)', ops: ['maxPool2dBackward'], grad: false,
    fn: (x: Tensor, g: Tensor) => {
      const { out, indices } = P.maxPool2dWithIndices(x, { kernel: 3, stride: 2 });
      out.dispose();
      return runOp(P.MaxPool2dBackwardOp, [g, indices], { kernel: [3, 3], stride: [2, 2], padding: [0, 0], inH: 7, inW: 7 });
    },
    inputs: [{ shape: [2, 3, 7, 7] }, { shape: [2, 3, 3, 3] }] },
];

const avgCases: OpCase[] = [
  { name: 'avgPool2d k3 s2 p1 odd [2,3,9,7]', ops: ['avgPool2d'], fn: (x) => P.avgPool2d(x, resnet), inputs: [{ shape: [2, 3, 9, 7] }] },
  { name: 'avgPool2d k2 default stride [1,2,6,8]', ops: ['avgPool2d'], fn: (x) => P.avgPool2d(x, { kernel: 2 }), inputs: [{ shape: [1, 2, 6, 8] }] },
  { name: 'avgPool2d k[3,2] s[2,1] p[1,0] [2,2,7,5]', ops: ['avgPool2d'], fn: (x) => P.avgPool2d(x, { kernel: [3, 2], stride: [2, 1], padding: [1, 0] }),
    inputs: [{ shape: [2, 2, 7, 5] }] },
  { name: 'avgPool2d k3 s3 floor mode drops a border [1,2,8,7]', ops: ['avgPool2d'], fn: (x) => P.avgPool2d(x, { kernel: 3 }), inputs: [{ shape: [1, 2, 8, 7] }] },
  { name: 'avgPool2d large [4,16,32,32] k3 s2 p1', ops: ['avgPool2d'], fn: (x) => P.avgPool2d(x, resnet), gradcheck: false, inputs: [{ shape: [4, 16, 32, 32] }] },
  { name: 'avgPool2dBackward (of [2,3,9,7] k3 s2 p1)', ops: ['avgPool2dBackward'],
    fn: (g) => runOp(P.AvgPool2dBackwardOp, [g], { kernel: [3, 3], stride: [2, 2], padding: [1, 1], inH: 9, inW: 7 }), inputs: [{ shape: [2, 3, 5, 4] }] },
  { name: 'globalAvgPool2d [2,3,5,7]', ops: ['globalAvgPool2d'], fn: (x) => P.globalAvgPool2d(x), inputs: [{ shape: [2, 3, 5, 7] }] },
  { name: 'globalAvgPool2d [8,512,4,4] (ResNet-18 head)', ops: ['globalAvgPool2d'], fn: (x) => P.globalAvgPool2d(x), gradcheck: false, inputs: [{ shape: [8, 512, 4, 4] }] },
];

export const poolCases: OpCase[] = polynomial([...maxCases, ...avgCases]);
