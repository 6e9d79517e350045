import * as X from '../../engine/ops/optim.js';
import { concat, reshape } from '../../engine/ops/movement.js';
import type { Tensor } from '../../engine/tensor.js';
import type { OpCase } from './types.js';

/** Every output of a fused update, flattened into one tensor so a case compares them all. */
const flat = (...ts: (Tensor | null)[]) => concat(ts.filter((t): t is Tensor => t !== null).map((t) => reshape(t, [-1])));
const p = (shape: number[], low = -1, high = 1) => ({ shape, low, high });
// 1031 elements: several invocations (8 elements each) and a ragged tail
const S = [1031];

export const optimCases: OpCase[] = [
  ...[{ momentum: 0.9, nesterov: false }, { momentum: 0.9, nesterov: true }, { momentum: 0, nesterov: false }].flatMap(({ momentum, nesterov }): OpCase[] => [
    { name: `sgdUpdate m ${momentum}${nesterov ? ' nesterov' : ''}, first step`, ops: ['sgdUpdate'], grad: false, inputs: [p(S), p(S)],
      fn: (w, g) => { const r = X.sgdUpdate(w, g, null, { lr: 0.1, momentum, nesterov, weightDecay: 1e-2 }); return flat(r.w, r.v); } },
    { name: `sgdUpdate m ${momentum}${nesterov ? ' nesterov' : ''}, with a buffer`, ops: ['sgdUpdate'], grad: false, inputs: [p(S), p(S), p(S)],
      fn: (w, g, v) => { const r = X.sgdUpdate(w, g, v, { lr: 0.1, momentum, nesterov, weightDecay: 1e-2 }); return flat(r.w, r.v); } },
  ]),
  ...[false, true].flatMap((excluded): OpCase[] => [
    { name: `larsUpdate ${excluded ? 'excluded' : 'trust-scaled'}, first step`, ops: ['larsUpdate'], grad: false, inputs: [p([64, 3, 3, 3]), p([64, 3, 3, 3], -0.01, 0.01)],
      fn: (w, g) => { const r = X.larsUpdate(w, g, null, { lr: 0.3, momentum: 0.9, weightDecay: 1e-3, eta: 1e-3, excluded }); return flat(r.w, r.v); } },
    { name: `larsUpdate ${excluded ? 'excluded' : 'trust-scaled'} nesterov, with a buffer`, ops: ['larsUpdate'], grad: false, inputs: [p(S), p(S, -0.01, 0.01), p(S, -0.01, 0.01)],
      fn: (w, g, v) => { const r = X.larsUpdate(w, g, v, { lr: 0.3, momentum: 0.9, weightDecay: 1e-3, eta: 1e-3, excluded, nesterov: true }); return flat(r.w, r.v); } },
  ]),
  // 16397 elements: 24 partial sums, 3 blocks of 1376 vec4s (the last one short) with a ragged tail;
  // lr and eta 1 make the step O(1), so that a norm off by a few elements shows beyond the tolerance
  { name: 'larsUpdate trust-scaled, norms over several blocks', ops: ['larsUpdate'], grad: false, inputs: [p([16397]), p([16397], -0.01, 0.01)],
    fn: (w, g) => { const r = X.larsUpdate(w, g, null, { lr: 1, momentum: 0.9, weightDecay: 1e-3, eta: 1, excluded: false }); return flat(r.w, r.v); } },
  { name: 'larsUpdate zero weights: trust 1', ops: ['larsUpdate'], grad: false, inputs: [{ shape: [40], values: new Array(40).fill(0) }, p([40])],
    fn: (w, g) => { const r = X.larsUpdate(w, g, null, { lr: 0.3, momentum: 0.9, weightDecay: 0, eta: 1e-3, excluded: false }); return flat(r.w, r.v); } },
  ...[false, true].flatMap((decoupled): OpCase[] => [
    { name: `adamUpdate${decoupled ? ' decoupled' : ''}, first step`, ops: ['adamUpdate'], grad: false, inputs: [p(S), p(S), { shape: [], values: [1] }],
      fn: (w, g, t) => { const r = X.adamUpdate(w, g, t, null, { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-2, decoupled }); return flat(r.w, r.m, r.v); } },
    { name: `adamUpdate${decoupled ? ' decoupled' : ''}, step 7`, ops: ['adamUpdate'], grad: false, inputs: [p(S), p(S), { shape: [1], values: [7] }, p(S, -0.1, 0.1), p(S, 0, 0.01)],
      fn: (w, g, t, m, v) => { const r = X.adamUpdate(w, g, t, { m, v }, { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-2, decoupled }); return flat(r.w, r.m, r.v); } },
  ]),
  { name: 'emaUpdate m 0.99', ops: ['emaUpdate'], grad: false, inputs: [p(S), p(S)], fn: (t, o) => X.emaUpdate(t, o, 0.99) },
];
