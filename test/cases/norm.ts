import * as N from '../../engine/ops/norm.js';
import { runOp, runOpAux } from '../../engine/ops/registry.js';
import { concat, reshape } from '../../engine/ops/movement.js';
import type { Tensor } from '../../engine/tensor.js';
import type { OpCase } from './types.js';

const chan = (c: number, low = -1, high = 1) => ({ shape: [c], low, high });
const train = (x: Tensor, g: Tensor | null, b: Tensor | null, eps?: number) => N.batchNorm(x, g, b, { training: true, eps });
const evalBn = (x: Tensor, g: Tensor | null, b: Tensor | null, rm: Tensor, rv: Tensor) => N.batchNorm(x, g, b, { training: false, runningMean: rm, runningVar: rv });
const OPS = ['batchNorm', 'batchNormTrain'];

const trainCases: OpCase[] = [
  { name: 'batchNorm train 2-D [3,5,4,3] gamma+beta', ops: OPS, fn: (x, g, b) => train(x, g, b),
    inputs: [{ shape: [3, 5, 4, 3], low: -2, high: 3 }, chan(5, 0.5, 1.5), chan(5)] },
  { name: 'batchNorm train 2-D odd [2,3,5,7] no affine', ops: OPS, fn: (x) => train(x, null, null),
    inputs: [{ shape: [2, 3, 5, 7], low: -1, high: 1 }] },
  { name: 'batchNorm train 1-D [6,5] gamma only', ops: OPS, fn: (x, g) => train(x, g, null), inputs: [{ shape: [6, 5] }, chan(5, 0.5, 1.5)] },
  { name: 'batchNorm train 1-D [7,3] beta only, eps 1e-3', ops: OPS, fn: (x, b) => train(x, null, b, 1e-3), inputs: [{ shape: [7, 3] }, chan(3)] },
  { name: 'batchNorm train 2-D [2,1,3,3] single channel', ops: OPS, fn: (x, g, b) => train(x, g, b), inputs: [{ shape: [2, 1, 3, 3] }, chan(1, 0.5, 1.5), chan(1)] },
  { name: 'batchNorm train offset 1e3 [4,3,3,5]', ops: OPS, fn: (x, g, b) => train(x, g, b), tol: { atol: 1e-4, rtol: 1e-3 },
    inputs: [{ shape: [4, 3, 3, 5], low: 999, high: 1001 }, chan(3, 0.5, 1.5), chan(3)] },
  // split reductions (chunks of 128 with a partial last chunk, chunks crossing rows), no gradcheck
  { name: 'batchNorm train 2-D split [7,5,33,31]', ops: OPS, fn: (x, g, b) => train(x, g, b), gradcheck: false, tol: { atol: 1e-4, rtol: 1e-3 },
    inputs: [{ shape: [7, 5, 33, 31], low: -2, high: 3 }, chan(5, 0.5, 1.5), chan(5)] },
  { name: 'batchNorm train 1-D split [5000,3]', ops: OPS, fn: (x, g, b) => train(x, g, b), gradcheck: false, tol: { atol: 1e-4, rtol: 1e-3 },
    inputs: [{ shape: [5000, 3], low: 10, high: 12 }, chan(3, 0.5, 1.5), chan(3)] },
  { name: 'batchNorm train + relu 2-D [3,5,4,4] (vec4 rows)', ops: OPS, fn: (x, g, b) => N.batchNorm(x, g, b, { training: true, relu: true }),
    inputs: [{ shape: [3, 5, 4, 4], low: -2, high: 3 }, chan(5, 0.5, 1.5), chan(5)] },
  // rows of 48: a part of 32 values and a partial one of 16 (vec4 entries)
  { name: 'batchNorm train + relu 2-D [3,4,6,8] (rows in two parts)', ops: OPS, fn: (x, g, b) => N.batchNorm(x, g, b, { training: true, relu: true }),
    inputs: [{ shape: [3, 4, 6, 8], low: -2, high: 3 }, chan(4, 0.5, 1.5), chan(4)] },
  { name: 'batchNorm train + relu 2-D odd [2,3,5,7] no affine', ops: OPS, fn: (x) => N.batchNorm(x, null, null, { training: true, relu: true }),
    inputs: [{ shape: [2, 3, 5, 7] }] },
  // a residual block's end: relu(bn(x) + r) in one pass, the gradient of r is the masked g
  { name: 'batchNorm train + residual + relu [3,5,4,4] (vec4 rows)', ops: OPS,
    fn: (x, g, b, r) => N.batchNorm(x, g, b, { training: true, relu: true, residual: r }),
    inputs: [{ shape: [3, 5, 4, 4], low: -2, high: 3 }, chan(5, 0.5, 1.5), chan(5), { shape: [3, 5, 4, 4] }] },
  { name: 'batchNorm train + residual + relu odd [2,3,5,7] no affine', ops: OPS,
    fn: (x, r) => N.batchNorm(x, null, null, { training: true, relu: true, residual: r }), inputs: [{ shape: [2, 3, 5, 7] }, { shape: [2, 3, 5, 7] }] },
  { name: 'batchNorm train + residual, no relu, 1-D [6,5]', ops: OPS,
    fn: (x, g, r) => N.batchNorm(x, g, null, { training: true, residual: r }), inputs: [{ shape: [6, 5] }, chan(5, 0.5, 1.5), { shape: [6, 5] }] },
  // vec4 chunks crossing rows of 16 and of 12, with the ReLU backward
  { name: 'batchNorm train + relu split vec4 [80,3,4,4]', ops: OPS, fn: (x, g, b) => N.batchNorm(x, g, b, { training: true, relu: true }),
    gradcheck: false, tol: { atol: 1e-4, rtol: 1e-3 }, inputs: [{ shape: [80, 3, 4, 4], low: -2, high: 3 }, chan(3, 0.5, 1.5), chan(3)] },
  { name: 'batchNorm train + relu split vec4 [100,3,3,4]', ops: OPS, fn: (x, g, b) => N.batchNorm(x, g, b, { training: true, relu: true }),
    gradcheck: false, tol: { atol: 1e-4, rtol: 1e-3 }, inputs: [{ shape: [100, 3, 3, 4], low: -2, high: 3 }, chan(3, 0.5, 1.5), chan(3)] },
  { name: 'batchNorm train ResNet-sized [32,64,32,32] (chunks of 256)', ops: OPS, fn: (x, g, b) => train(x, g, b), gradcheck: false, tol: { atol: 1e-4, rtol: 1e-3 },
    inputs: [{ shape: [32, 64, 32, 32], low: -1, high: 2 }, chan(64, 0.5, 1.5), chan(64)] },
];

const EVAL = ['batchNorm', 'batchNormApply'];
const apply = (hasGamma: boolean, hasBeta: boolean) => (...xs: Tensor[]) => runOp(N.BatchNormApplyOp, xs, { hasGamma, hasBeta });

const evalCases: OpCase[] = [
  { name: 'batchNorm eval 2-D [3,5,4,3]', ops: EVAL, fn: (x, g, b, rm, rv) => evalBn(x, g, b, rm, rv),
    inputs: [{ shape: [3, 5, 4, 3] }, chan(5, 0.5, 1.5), chan(5), chan(5), chan(5, 0.5, 2)] },
  { name: 'batchNorm eval 1-D [4,7] no affine', ops: EVAL, fn: (x, rm, rv) => evalBn(x, null, null, rm, rv),
    inputs: [{ shape: [4, 7] }, chan(7), chan(7, 0.5, 2)] },
  { name: 'batchNorm eval 2-D odd [2,3,5,7] gamma only', ops: EVAL, fn: (x, g, rm, rv) => evalBn(x, g, null, rm, rv),
    inputs: [{ shape: [2, 3, 5, 7] }, chan(3, 0.5, 1.5), chan(3), chan(3, 0.5, 2)] },
  { name: 'batchNorm eval 2-D beta only, eps 1e-2 [2,4,3,3]', ops: EVAL, fn: (x, b, rm, rv) => N.batchNorm(x, null, b, { training: false, runningMean: rm, runningVar: rv, eps: 1e-2 }),
    inputs: [{ shape: [2, 4, 3, 3] }, chan(4), chan(4), chan(4, 0.5, 2)] },
  { name: 'batchNorm eval + residual + relu [3,5,4,4]', ops: EVAL,
    fn: (x, g, b, rm, rv, r) => N.batchNorm(x, g, b, { training: false, runningMean: rm, runningVar: rv, relu: true, residual: r }),
    inputs: [{ shape: [3, 5, 4, 4] }, chan(5, 0.5, 1.5), chan(5), chan(5), chan(5, 0.5, 2), { shape: [3, 5, 4, 4] }] },
  { name: 'batchNorm eval + relu 2-D [3,5,4,3]', ops: EVAL, fn: (x, g, b, rm, rv) => N.batchNorm(x, g, b, { training: false, runningMean: rm, runningVar: rv, relu: true }),
    inputs: [{ shape: [3, 5, 4, 3] }, chan(5, 0.5, 1.5), chan(5), chan(5), chan(5, 0.5, 2)] },
  { name: 'batchNorm eval large [16,32,16,16]', ops: EVAL, fn: (x, g, b, rm, rv) => evalBn(x, g, b, rm, rv), gradcheck: false,
    inputs: [{ shape: [16, 32, 16, 16] }, chan(32, 0.5, 1.5), chan(32), chan(32), chan(32, 0.5, 2)] },
  // the primitive directly: gradients into mean and invstd too
  { name: 'batchNormApply [3,4,2,5] gamma+beta', ops: ['batchNormApply'], fn: apply(true, true),
    inputs: [{ shape: [3, 4, 2, 5] }, chan(4), chan(4, 0.5, 2), chan(4, 0.5, 1.5), chan(4)] },
  { name: 'batchNormApply [6,3] no affine', ops: ['batchNormApply'], fn: apply(false, false), inputs: [{ shape: [6, 3] }, chan(3), chan(3, 0.5, 2)] },
  { name: 'batchNormApply [2,3,3,3] beta only', ops: ['batchNormApply'], fn: apply(false, true), inputs: [{ shape: [2, 3, 3, 3] }, chan(3), chan(3, 0.5, 2), chan(3)] },
  // the fused ReLU and residual (one pass): gradients into x, mean, invstd, gamma, beta and r through the mask
  { name: 'batchNormApply + residual + relu [3,4,2,4] (vec4 rows)', ops: ['batchNormApply'],
    fn: (...xs: Tensor[]) => runOp(N.BatchNormApplyOp, xs, { hasGamma: true, hasBeta: true, relu: true, residual: true }),
    inputs: [{ shape: [3, 4, 2, 4] }, chan(4), chan(4, 0.5, 2), chan(4, 0.5, 1.5), chan(4), { shape: [3, 4, 2, 4] }] },
  { name: 'batchNormApply + relu odd [2,3,5,7] gamma only', ops: ['batchNormApply'],
    fn: (...xs: Tensor[]) => runOp(N.BatchNormApplyOp, xs, { hasGamma: true, hasBeta: false, relu: true }),
    inputs: [{ shape: [2, 3, 5, 7] }, chan(3), chan(3, 0.5, 2), chan(3, 0.5, 1.5)] },
  { name: 'batchNormApply + residual, no relu [6,3]', ops: ['batchNormApply'],
    fn: (...xs: Tensor[]) => runOp(N.BatchNormApplyOp, xs, { hasGamma: false, hasBeta: false, residual: true }),
    inputs: [{ shape: [6, 3] }, chan(3), chan(3, 0.5, 2), { shape: [6, 3] }] },
];

/** batchNormTrain with the running statistics' update: y, mean, invstd, var, running mean' and var' in one vector. */
function bnTrainRunning(hasGamma: boolean, hasBeta: boolean, momentum: number, relu = false) {
  return (...xs: Tensor[]) => {
    const { out, aux } = runOpAux(N.BatchNormTrainOp, xs, { eps: 1e-5, hasGamma, hasBeta, relu, momentum });
    return concat([reshape(out, [-1]), ...aux], 0);
  };
}

const runningCases: OpCase[] = [
  { name: 'batchNormTrain + running statistics [3,5,4,3] gamma+beta', ops: ['batchNormTrain'], fn: bnTrainRunning(true, true, 0.1), grad: false,
    inputs: [{ shape: [3, 5, 4, 3], low: -2, high: 3 }, chan(5, 0.5, 1.5), chan(5), chan(5), chan(5, 0.5, 2)] },
  { name: 'batchNormTrain + running statistics, relu, no affine, momentum 0.7 [6,4]', ops: ['batchNormTrain'], fn: bnTrainRunning(false, false, 0.7, true), grad: false,
    inputs: [{ shape: [6, 4] }, chan(4), chan(4, 0.5, 2)] },
  // chunked statistics (M = 7 * 33 * 31 > 1024), momentum 1: the running values replaced
  { name: 'batchNormTrain + running statistics split [7,5,33,31] momentum 1', ops: ['batchNormTrain'], fn: bnTrainRunning(true, true, 1), grad: false,
    tol: { atol: 1e-4, rtol: 1e-3 }, inputs: [{ shape: [7, 5, 33, 31], low: -2, high: 3 }, chan(5, 0.5, 1.5), chan(5), chan(5), chan(5, 0.5, 2)] },
];

/** batchNormBackward's dx, dgamma and dbeta flattened into one vector. */
function bnBackward(hasGamma: boolean, relu = false, hasBeta = false) {
  return (...xs: Tensor[]) => {
    const { out, aux } = runOpAux(N.BatchNormBackwardOp, xs, { hasGamma, relu, hasBeta });
    return concat([reshape(out, [-1]), ...aux], 0);
  };
}

const backwardCases: OpCase[] = [
  { name: 'batchNormBackward 2-D [3,5,4,3] with gamma', ops: ['batchNormBackward'], fn: bnBackward(true), grad: false,
    inputs: [{ shape: [3, 5, 4, 3] }, { shape: [3, 5, 4, 3] }, chan(5, -0.2, 0.2), chan(5, 0.5, 2), chan(5, 0.5, 1.5)] },
  { name: 'batchNormBackward 1-D [9,4] without gamma', ops: ['batchNormBackward'], fn: bnBackward(false), grad: false,
    inputs: [{ shape: [9, 4] }, { shape: [9, 4] }, chan(4, -0.2, 0.2), chan(4, 0.5, 2)] },
  // the ReLU's mask recomputed from x, mean, invstd, gamma and beta
  { name: 'batchNormBackward with a ReLU mask [3,5,4,4] (vec4 rows)', ops: ['batchNormBackward'], fn: bnBackward(true, true, true), grad: false,
    inputs: [{ shape: [3, 5, 4, 4] }, { shape: [3, 5, 4, 4] }, chan(5, -0.2, 0.2), chan(5, 0.5, 2), chan(5, 0.5, 1.5), chan(5, -0.5, 0.5)] },
  { name: 'batchNormBackward with a ReLU mask, no gamma [4,3,3,3]', ops: ['batchNormBackward'], fn: bnBackward(false, true, true), grad: false,
    inputs: [{ shape: [4, 3, 3, 3] }, { shape: [4, 3, 3, 3] }, chan(3, -0.2, 0.2), chan(3, 0.5, 2), chan(3, -0.5, 0.5)] },
  { name: 'batchNormBackward with a ReLU mask, no beta [2,4,6,8]', ops: ['batchNormBackward'], fn: bnBackward(true, true), grad: false,
    inputs: [{ shape: [2, 4, 6, 8] }, { shape: [2, 4, 6, 8] }, chan(4, -0.2, 0.2), chan(4, 0.5, 2), chan(4, 0.5, 1.5)] },
  { name: 'batchNormBackward split [9,6,30,31]', ops: ['batchNormBackward'], fn: bnBackward(true), grad: false, tol: { atol: 1e-4, rtol: 1e-3 },
    inputs: [{ shape: [9, 6, 30, 31] }, { shape: [9, 6, 30, 31] }, chan(6, -0.2, 0.2), chan(6, 0.5, 2), chan(6, 0.5, 1.5)] },
];

export const normCases: OpCase[] = [...trainCases, ...runningCases, ...evalCases, ...backwardCases];
