import * as E from '../../engine/ops/elementwise.js';
import type { OpCase } from './types.js';

const pos = { low: 0.2, high: 2 };
const unaryCases: OpCase[] = [
  { name: 'neg', ops: ['neg'], fn: E.neg, inputs: [{ shape: [3, 5] }] },
  { name: 'exp', ops: ['exp'], fn: E.exp, inputs: [{ shape: [7, 3] }] },
  { name: 'log', ops: ['log'], fn: E.log, inputs: [{ shape: [33], ...pos }] },
  { name: 'sqrt', ops: ['sqrt'], fn: E.sqrt, inputs: [{ shape: [4, 9], ...pos }] },
  { name: 'rsqrt', ops: ['rsqrt'], fn: E.rsqrt, inputs: [{ shape: [4, 9], ...pos }] },
  { name: 'abs', ops: ['abs'], fn: E.abs, inputs: [{ shape: [5, 5] }] },
  { name: 'relu', ops: ['relu'], fn: E.relu, inputs: [{ shape: [2, 3, 5] }] },
  { name: 'sigmoid', ops: ['sigmoid'], fn: E.sigmoid, inputs: [{ shape: [10], low: -4, high: 4 }] },
  { name: 'tanh', ops: ['tanh'], fn: E.tanh, inputs: [{ shape: [10], low: -3, high: 3 }] },
  { name: 'square', ops: ['square'], fn: E.square, inputs: [{ shape: [6, 2] }] },
  { name: 'powScalar 3 (negative base)', ops: ['powScalar'], fn: (x) => E.powScalar(x, 3), inputs: [{ shape: [11] }] },
  { name: 'powScalar -1.5', ops: ['powScalar'], fn: (x) => E.powScalar(x, -1.5), inputs: [{ shape: [11], ...pos }] },
  { name: 'affine', ops: ['affine'], fn: (x) => E.affine(x, -2.5, 0.75), inputs: [{ shape: [3, 3] }] },
  { name: 'scalar add/sub/mul/div', ops: ['affine', 'powScalar'], fn: (x) => E.div(2, E.mul(E.sub(3, E.add(x, 1.5)), 0.5)), inputs: [{ shape: [9], low: -1, high: 0.5 }] },
  { name: 'sign', ops: ['sign'], fn: E.sign, inputs: [{ shape: [17], values: [-2, -1, -0.5, 0, 0.5, 1, 2, -3, 3, 0, 1e-3, -1e-3, 5, -5, 0.1, -0.1, 7] }], grad: false },
  { name: 'step', ops: ['step'], fn: (x) => E.step(x, 0.25), inputs: [{ shape: [4, 4] }], grad: false },
  { name: 'clamp', ops: ['clamp'], fn: (x) => E.clamp(x, -0.5, 0.4), inputs: [{ shape: [30] }] },
];

const binaryCases: OpCase[] = [
  { name: 'add same shape', ops: ['add'], fn: E.add, inputs: [{ shape: [5, 7] }, { shape: [5, 7] }] },
  { name: 'add broadcast row+col', ops: ['add'], fn: E.add, inputs: [{ shape: [5, 1] }, { shape: [1, 7] }] },
  { name: 'sub broadcast rank', ops: ['sub'], fn: E.sub, inputs: [{ shape: [2, 3, 4] }, { shape: [4] }] },
  { name: 'mul broadcast middle', ops: ['mul'], fn: E.mul, inputs: [{ shape: [2, 3, 4] }, { shape: [2, 1, 4] }] },
  { name: 'mul per-channel scale [3,8,12] x [1,8,1] (vec4 rows, splatted operand)', ops: ['mul'], fn: E.mul, inputs: [{ shape: [3, 8, 12] }, { shape: [1, 8, 1] }] },
  { name: 'add broadcast first operand [1,8] + [5,8] (vec4 rows)', ops: ['add'], fn: E.add, inputs: [{ shape: [1, 8] }, { shape: [5, 8] }] },
  { name: 'mul per-channel [2,3,4] x [3,1] (an operand of 3 floats)', ops: ['mul'], fn: E.mul, inputs: [{ shape: [2, 3, 4] }, { shape: [3, 1] }] },
  { name: 'div', ops: ['div'], fn: E.div, inputs: [{ shape: [3, 4] }, { shape: [3, 4], ...pos }] },
  { name: 'div broadcast scalar tensor', ops: ['div'], fn: E.div, inputs: [{ shape: [3, 4] }, { shape: [], ...pos }] },
  { name: 'maximum', ops: ['maximum'], fn: E.maximum, inputs: [{ shape: [4, 5] }, { shape: [5] }] },
  { name: 'minimum', ops: ['minimum'], fn: E.minimum, inputs: [{ shape: [4, 1] }, { shape: [4, 5] }] },
  { name: 'compare ops', ops: ['greater', 'greaterEqual', 'less', 'lessEqual', 'equal', 'notEqual'], grad: false,
    fn: (a, b) => E.add(E.add(E.add(E.greater(a, b), E.mul(E.greaterEqual(a, b), 2)), E.add(E.mul(E.less(a, b), 4), E.mul(E.lessEqual(a, b), 8))),
      E.add(E.mul(E.equal(a, b), 16), E.mul(E.notEqual(a, b), 32))),
    inputs: [{ shape: [3, 4], values: [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3] }, { shape: [4], values: [1, 1, 1, 1] }] },
  { name: 'addRelu same shape (vec4 path, ragged size)', ops: ['addRelu', 'reluBackward'], fn: E.addRelu, inputs: [{ shape: [3, 11] }, { shape: [3, 11] }] },
  { name: 'addRelu broadcast', ops: ['addRelu', 'reluBackward'], fn: E.addRelu, inputs: [{ shape: [2, 3, 5] }, { shape: [3, 1] }] },
  { name: 'reluBackward (g where y > 0)', ops: ['reluBackward'], fn: E.reluBackward, grad: false,
    inputs: [{ shape: [2, 9] }, { shape: [2, 9], values: [-1, 0, 1, 2, -0.5, 0, 3, -2, 1, 0.1, 0, -0.1, 5, 4, -3, 0, 2, 2] }] },
  { name: 'where broadcast', ops: ['where', 'greater'], fn: (c, a, b) => E.where(E.greater(c, 0), a, b), inputs: [{ shape: [3, 1] }, { shape: [3, 4] }, { shape: [4] }] },
];

export const elementwiseCases: OpCase[] = [...unaryCases, ...binaryCases];
