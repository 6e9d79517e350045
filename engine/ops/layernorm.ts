/**
 * Layer normalization per sample: every row of x [N, ...] (all axes after the first, e.g. C, H and
 * W of a feature map) is normalized with its own mean and biased variance, y = (x - mean) / sqrt(var
 * + eps). There are no batch statistics, so a sample's output never depends on the rest of the batch
 * (why CPC v2 puts it in place of batch norm: patches of one image cannot find each other through the
 * batch statistics). A per-channel affine is the caller's (nn/layers.ts LayerNorm2d multiplies and
 * adds [1, C, 1, 1] tensors), which with this op is PyTorch's GroupNorm(1, C).
 *
 * - `layerNormRows` (primitive): y and, as auxiliary outputs, mean [N] and inverse std [N].
 *   shaders/layer_norm.wgsl: one invocation per row, two-pass statistics (the mean, then the squared
 *   deviations; Kahan-compensated sums), then the normalized row.
 * - `layerNormBackward` (primitive, used by the rule above): from g, y and the inverse std,
 *   dx = invstd (g - mean(g) - y mean(g y)) per row; shaders/layer_norm_backward.wgsl, one invocation
 *   per row.
 */
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { f32, grid, u32 } from '../webgpu/backend.js';
import { defineOp, requireF32, runOp, runOpAux, type TensorMeta } from './registry.js';

export interface LayerNormAttrs { readonly eps: number }

const WG = 64;

function rows(op: string, x: TensorMeta): [number, number] {
  if (x.shape.length < 2) throw new ShapeError(op, `expected x [N, ...] with at least two axes, got ${fmtShape(x.shape)}`);
  const d = sizeOf(x.shape.slice(1));
  if (d === 0) throw new ShapeError(op, `cannot normalize empty rows of ${fmtShape(x.shape)}`);
  return [x.shape[0], d];
}

export const LayerNormRowsOp = defineOp<LayerNormAttrs>({
  name: 'layerNormRows',
  shape([x]) { requireF32('layerNormRows', x); rows('layerNormRows', x); return { shape: x.shape, dtype: 'f32' }; },
  aux([x]) { const n = x.shape[0]; return [{ shape: [n], dtype: 'f32' }, { shape: [n], dtype: 'f32' }]; },
  cpu(_b, [x], { eps }) {
    const [n, d] = rows('layerNormRows', x);
    const y = new Float64Array(n * d), mean = new Float64Array(n), invstd = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const row = x.data.subarray(i * d, (i + 1) * d);
      const mu = row.reduce((s, v) => s + v, 0) / d;
      const v = row.reduce((s, x) => s + (x - mu) ** 2, 0) / d;
      const is = 1 / Math.sqrt(v + eps);
      for (let j = 0; j < d; j++) y[i * d + j] = (row[j] - mu) * is;
      mean[i] = mu; invstd[i] = is;
    }
    return { out: y, aux: [mean, invstd] };
  },
  webgpu(gpu, [x], { eps }) {
    const [n, d] = rows('layerNormRows', x);
    const y = gpu.alloc(n * d), mean = gpu.alloc(n), invstd = gpu.alloc(n);
    gpu.run({
      shader: 'layer_norm', inputs: [x.storage], outputs: [y, mean, invstd],
      params: [u32(n), u32(d), f32(eps), u32(0)], workgroups: grid(Math.ceil(n / WG)),
    });
    return { out: y, aux: [mean, invstd] };
  },
  backward(g, ctx) { return [runOp(LayerNormBackwardOp, [g, ctx.output!, ctx.aux[1]], undefined)]; },
  saves: { output: true, aux: true },
});

/** dx of layerNormRows from g, its output y and its inverse std per row. */
export const LayerNormBackwardOp = defineOp<void>({
  name: 'layerNormBackward',
  shape([g, y, invstd]) {
    requireF32('layerNormBackward', g, y, invstd);
    const [n] = rows('layerNormBackward', y);
    if (g.shape.join() !== y.shape.join() || invstd.shape.length !== 1 || invstd.shape[0] !== n) {
      throw new ShapeError('layerNormBackward', `g ${fmtShape(g.shape)} must match y ${fmtShape(y.shape)} and invstd be [${n}], got ${fmtShape(invstd.shape)}`);
    }
    return { shape: y.shape, dtype: 'f32' };
  },
  cpu(_b, [g, y, invstd]) {
    const [n, d] = rows('layerNormBackward', y);
    const dx = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      let sg = 0, sgy = 0;
      for (let j = 0; j < d; j++) { sg += g.data[i * d + j]; sgy += g.data[i * d + j] * y.data[i * d + j]; }
      for (let j = 0; j < d; j++) dx[i * d + j] = invstd.data[i] * (g.data[i * d + j] - sg / d - y.data[i * d + j] * sgy / d);
    }
    return dx;
  },
  webgpu(gpu, [g, y, invstd]) {
    const [n, d] = rows('layerNormBackward', y);
    const dx = gpu.alloc(n * d);
    gpu.run({
      shader: 'layer_norm_backward', inputs: [g.storage, y.storage, invstd.storage], outputs: [dx],
      params: [u32(n), u32(d), f32(0), u32(0)], workgroups: grid(Math.ceil(n / WG)),
    });
    return dx;
  },
});

/** Normalizes each sample of x [N, ...] over all its other axes (no affine); eps as PyTorch's 1e-5 default. */
export function layerNorm(x: Tensor, eps = 1e-5): Tensor {
  if (!(eps > 0 && Number.isFinite(eps))) throw new ArgumentError('layerNorm', `eps must be a positive number, got ${eps}`);
  const { out, aux } = runOpAux(LayerNormRowsOp, [x], { eps });
  aux.forEach((t) => t.dispose());
  return out;
}
