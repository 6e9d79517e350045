/**
 * InfoNCE against a queue of negatives, MoCo's loss. For queries q [N, d], their positive keys
 * k [N, d] and a queue [K, d] of negative keys, query i's logits are s_pos = <q_i, k_i> / tau and
 * s_ij = <q_i, queue_j> / tau, and its loss is the cross-entropy with the positive as the target:
 * logsumexp(s_pos, s_i1..s_iK) - s_pos (MoCo's logits [N, 1 + K] with label 0).
 *
 * The primitive `infoNceRows` computes every row's loss with a fused kernel
 * (shaders/infonce_forward.wgsl) that streams over the queue keeping an online max and sum of
 * exponentials, so the [N, 1 + K] logits never exist (at K = 65,536 and N = 256 they would be
 * 64 MiB); its logsumexp per row is saved for backward, which recomputes the logits: the query
 * gradient by a kernel (infonce_backward.wgsl), the positive key's by ordinary ops, and the
 * queue's by its own kernel (infonce_queue_grad.wgsl; MoCo never asks for it, the queue holds
 * detached keys). The composite `infoNce` L2-normalizes q and k (the queue is used as given:
 * MoCo stores normalized keys) and averages.
 */
import { ShapeError, fmtShape } from '../errors.js';
import { Tensor, noGrad, tidy } from '../tensor.js';
import { f32, grid, u32 } from '../webgpu/backend.js';
import { div, exp, mul, sub } from './elementwise.js';
import { mean, sum } from './reduce.js';
import { reshape } from './movement.js';
import { l2Normalize } from './l2normalize.js';
import { lossTemperature } from './ntxent.js';
import { defineComposite, defineOp, requireF32, runOp, runOpAux, type TensorMeta } from './registry.js';

interface Attrs { readonly temperature: number }

const WG = 64;

function checkRows(op: string, q: TensorMeta, k: TensorMeta, queue: TensorMeta): [number, number, number] {
  requireF32(op, q, k, queue);
  if (q.shape.length !== 2 || q.shape[0] < 1) throw new ShapeError(op, `queries must be [N, d] with N >= 1, got ${fmtShape(q.shape)}`);
  const [n, d] = q.shape;
  if (k.shape.length !== 2 || k.shape[0] !== n || k.shape[1] !== d) {
    throw new ShapeError(op, `positive keys must be [${n}, ${d}] like the queries, got ${fmtShape(k.shape)}`);
  }
  if (queue.shape.length !== 2 || queue.shape[1] !== d) throw new ShapeError(op, `queue must be [K, ${d}], got ${fmtShape(queue.shape)}`);
  return [n, d, queue.shape[0]];
}

const dot = (a: Float64Array, ai: number, b: Float64Array, bi: number, d: number) => {
  let s = 0;
  for (let c = 0; c < d; c++) s += a[ai + c] * b[bi + c];
  return s;
};

/**
 * Per-query InfoNCE losses [N]; aux: logsumexp per row [N], and 1 where the positive's logit is
 * strictly above every negative's (else 0) [N].
 */
export const InfoNceRowsOp = defineOp<Attrs>({
  name: 'infoNceRows',
  shape([q, k, queue]) { const [n] = checkRows('infoNceRows', q, k, queue); return { shape: [n], dtype: 'f32' }; },
  aux([q]) { const n = q.shape[0]; return [{ shape: [n], dtype: 'f32' }, { shape: [n], dtype: 'f32' }]; },
  cpu(_b, [q, k, queue], { temperature: t }) {
    const [n, d] = q.shape, kk = queue.shape[0];
    const loss = new Float64Array(n), lse = new Float64Array(n), correct = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const pos = dot(q.data, i * d, k.data, i * d, d) / t;
      const neg = Array.from({ length: kk }, (_, j) => dot(q.data, i * d, queue.data, j * d, d) / t);
      const mx = Math.max(pos, ...neg);
      const se = Math.exp(pos - mx) + neg.reduce((s, v) => s + Math.exp(v - mx), 0);
      lse[i] = mx + Math.log(se);
      loss[i] = lse[i] - pos;
      correct[i] = neg.every((v) => pos > v) ? 1 : 0;
    }
    return { out: loss, aux: [lse, correct] };
  },
  webgpu(gpu, [q, k, queue], { temperature }) {
    const [n, d] = q.shape;
    const loss = gpu.alloc(n), lse = gpu.alloc(n), correct = gpu.alloc(n);
    gpu.run({
      shader: 'infonce_forward', inputs: [q.storage, k.storage, queue.storage], outputs: [loss, lse, correct],
      params: [u32(n), u32(d), u32(queue.shape[0]), f32(1 / temperature)], workgroups: grid(Math.ceil(n / WG)),
    });
    return { out: loss, aux: [lse, correct] };
  },
  backward(g, ctx) {
    const [q, k, queue] = ctx.inputs as [Tensor, Tensor, Tensor];
    const lse = ctx.aux[0];
    const t = ctx.attrs.temperature;
    const dq = ctx.needs[0] ? infoNceBackward(q, k, queue, g, lse, t) : null;
    // dk_i = (g_i / tau) (p_pos,i - 1) q_i, p_pos = exp(s_pos - lse): elementwise, no kernel of its own.
    const dk = ctx.needs[1] ? tidy(() => {
      const n = q.shape[0];
      const pPos = exp(sub(div(sum(mul(q, k), 1), t), lse));
      return mul(q, reshape(mul(div(g, t), sub(pPos, 1)), [n, 1]));
    }) : null;
    const dqueue = ctx.needs[2] ? infoNceQueueGrad(q, queue, g, lse, t) : null;
    return [dq, dk, dqueue];
  },
  saves: { inputs: true, aux: true },
});

/** Gradient w.r.t. q [N, d] of sum_i g_i * loss_i, given the forward's per-row logsumexp. */
export const InfoNceBackwardOp = defineOp<Attrs>({
  name: 'infoNceBackward',
  shape([q, k, queue, g, lse]) {
    const [n] = checkRows('infoNceBackward', q, k, queue);
    requireF32('infoNceBackward', g, lse);
    if (g.shape.length !== 1 || g.shape[0] !== n || lse.shape.length !== 1 || lse.shape[0] !== n) {
      throw new ShapeError('infoNceBackward', `g and lse must be [${n}], got ${fmtShape(g.shape)} and ${fmtShape(lse.shape)}`);
    }
    return { shape: q.shape, dtype: 'f32' };
  },
  cpu(_b, [q, k, queue, g, lse], { temperature: t }) {
    const [n, d] = q.shape, kk = queue.shape[0];
    const out = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      const gi = g.data[i] / t;
      const wPos = gi * (Math.exp(dot(q.data, i * d, k.data, i * d, d) / t - lse.data[i]) - 1);
      for (let c = 0; c < d; c++) out[i * d + c] = wPos * k.data[i * d + c];
      for (let j = 0; j < kk; j++) {
        const w = gi * Math.exp(dot(q.data, i * d, queue.data, j * d, d) / t - lse.data[i]);
        for (let c = 0; c < d; c++) out[i * d + c] += w * queue.data[j * d + c];
      }
    }
    return out;
  },
  webgpu(gpu, [q, k, queue, g, lse], { temperature }) {
    const [n, d] = q.shape;
    const out = gpu.alloc(n * d);
    gpu.run({
      shader: 'infonce_backward', inputs: [q.storage, k.storage, queue.storage, g.storage, lse.storage], outputs: [out],
      params: [u32(n), u32(d), u32(queue.shape[0]), f32(1 / temperature)], workgroups: grid(Math.ceil(n / WG)),
    });
    return out;
  },
});

/** Gradient w.r.t. the queue [K, d] of sum_i g_i * loss_i, given the forward's per-row logsumexp. */
export const InfoNceQueueGradOp = defineOp<Attrs>({
  name: 'infoNceQueueGrad',
  shape([q, queue, g, lse]) {
    requireF32('infoNceQueueGrad', q, queue, g, lse);
    if (q.shape.length !== 2 || queue.shape.length !== 2 || queue.shape[1] !== q.shape[1]) {
      throw new ShapeError('infoNceQueueGrad', `q [N, d] and queue [K, d] needed, got ${fmtShape(q.shape)} and ${fmtShape(queue.shape)}`);
    }
    const n = q.shape[0];
    if (g.shape.length !== 1 || g.shape[0] !== n || lse.shape.length !== 1 || lse.shape[0] !== n) {
      throw new ShapeError('infoNceQueueGrad', `g and lse must be [${n}], got ${fmtShape(g.shape)} and ${fmtShape(lse.shape)}`);
    }
    return { shape: queue.shape, dtype: 'f32' };
  },
  cpu(_b, [q, queue, g, lse], { temperature: t }) {
    const [n, d] = q.shape, kk = queue.shape[0];
    const out = new Float64Array(kk * d);
    for (let j = 0; j < kk; j++) {
      for (let i = 0; i < n; i++) {
        const w = (g.data[i] / t) * Math.exp(dot(q.data, i * d, queue.data, j * d, d) / t - lse.data[i]);
        for (let c = 0; c < d; c++) out[j * d + c] += w * q.data[i * d + c];
      }
    }
    return out;
  },
  webgpu(gpu, [q, queue, g, lse], { temperature }) {
    const [n, d] = q.shape, kk = queue.shape[0];
    const out = gpu.alloc(kk * d);
    gpu.run({
      shader: 'infonce_queue_grad', inputs: [queue.storage, q.storage, g.storage, lse.storage], outputs: [out],
      params: [u32(n), u32(d), u32(kk), f32(1 / temperature)], workgroups: grid(Math.ceil(kk / WG)),
    });
    return out;
  },
});

export function infoNceRows(q: Tensor, k: Tensor, queue: Tensor, temperature: number): { loss: Tensor; lse: Tensor; correct: Tensor } {
  const t = lossTemperature('infoNceRows', temperature, NaN);
  const { out, aux } = runOpAux(InfoNceRowsOp, [q, k, queue], { temperature: t });
  return { loss: out, lse: aux[0], correct: aux[1] };
}

export function infoNceBackward(q: Tensor, k: Tensor, queue: Tensor, g: Tensor, lse: Tensor, temperature: number): Tensor {
  return runOp(InfoNceBackwardOp, [q, k, queue, g, lse], { temperature: lossTemperature('infoNceBackward', temperature, NaN) });
}

export function infoNceQueueGrad(q: Tensor, queue: Tensor, g: Tensor, lse: Tensor, temperature: number): Tensor {
  return runOp(InfoNceQueueGradOp, [q, queue, g, lse], { temperature: lossTemperature('infoNceQueueGrad', temperature, NaN) });
}

export interface InfoNceOptions { temperature?: number }

/**
 * MoCo's InfoNCE of queries q [N, d] against their positive keys k [N, d] and a queue [K, d] of
 * negatives: q and k are L2-normalized inside, the queue is used as given. `loss` is the mean over
 * the N queries; `accuracy` (no gradient) the fraction whose positive ranks above every negative.
 * The temperature is `opts` itself (`infoNce(q, k, queue, 0.2)`) or `opts.temperature` (default 0.2,
 * MoCo v2's). The [N, 1 + K] logits are never stored.
 */
export const infoNce = defineComposite('infoNce', true,
  (q: Tensor, k: Tensor, queue: Tensor, opts: InfoNceOptions | number = {}): { loss: Tensor; accuracy: Tensor } => {
    const temperature = lossTemperature('infoNce', opts, 0.2);
    checkRows('infoNce', q, k, queue);
    const qh = l2Normalize(q), kh = l2Normalize(k);
    const { loss: rows, lse, correct } = infoNceRows(qh, kh, queue, temperature);
    qh.dispose(); kh.dispose(); lse.dispose();
    const loss = mean(rows);
    rows.dispose();
    const accuracy = noGrad(() => mean(correct));
    correct.dispose();
    return { loss, accuracy };
  });

/**
 * BYOL's regression loss: mean over rows of 2 - 2 cos(p_i, z_i) for predictions p [N, d] and
 * targets z [N, d] (both L2-normalized inside; the caller detaches z and pairs the rows, e.g. the
 * online network's prediction of one view with the target's projection of the other).
 */
export const byolLoss = defineComposite('byolLoss', true, (p: Tensor, z: Tensor): Tensor => {
  requireF32('byolLoss', p, z);
  if (p.shape.length !== 2 || z.shape.length !== 2 || p.shape[0] !== z.shape[0] || p.shape[1] !== z.shape[1]) {
    throw new ShapeError('byolLoss', `predictions and targets must both be [N, d], got ${fmtShape(p.shape)} and ${fmtShape(z.shape)}`);
  }
  return tidy(() => sub(2, mul(mean(sum(mul(l2Normalize(p), l2Normalize(z)), 1)), 2)));
});
