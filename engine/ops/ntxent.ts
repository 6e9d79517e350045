/**
 * NT-Xent, SimCLR's normalized-temperature cross-entropy. The primitive `ntXentRows` takes the
 * L2-normalized embeddings zh [2N, d] and gives each anchor row's loss; its per-row logsumexp and a
 * "positive ranks first" flag are auxiliary outputs (the logsumexp is saved for backward). The
 * backward is a dedicated primitive `ntXentBackward`: up to 2N = 2048 (one chunk, 16 MiB) it reuses
 * the forward's dot products, which the forward keeps as a third auxiliary output; beyond, it
 * recomputes them chunk by chunk. The composite
 * `ntXent` normalizes z (./l2normalize.ts) and averages.
 *
 * WebGPU: tiled and streamed in chunks of anchor rows, so beyond 2N = 2048 the 2N x 2N logits never
 * exist at once (a chunk holds at most CHUNK_ELEMENTS dot products, 16 MiB, whatever the batch). Per chunk, the
 * dot products come from the device's matmul kernel (blocks of anchors against blocks of
 * candidates: subgroup broadcasts on lavapipe, workgroup-memory tiles on GPUs), then
 * shaders/ntxent_stats.wgsl folds each row into an online logsumexp (exact, one exp per logit), or,
 * backward, shaders/ntxent_weights.wgsl turns the chunk into gradient weights in place and one more
 * matmul gives the chunk's rows of dZ. The FLOPs are those of the naive matmul composition, done
 * by the same tuned kernels, with two fewer passes over the logits and bounded memory.
 */
import { ArgumentError, DeviceError, ShapeError, fmtShape } from '../errors.js';
import { Tensor, noGrad } from '../tensor.js';
import { f32, grid, u32, type GpuStorage, type WebGpuBackend } from '../webgpu/backend.js';
import { matmulRowsGpu } from './matmul.js';
import { l2Normalize } from './l2normalize.js';
import { mean } from './reduce.js';
import { defineComposite, defineOp, requireF32, runOp, runOpAux, type TensorMeta } from './registry.js';

export interface NtXentAttrs { readonly temperature: number }

const WG = 64;
/** Elements of a chunk row per invocation of ntxent_weights.wgsl (its E). */
const WEIGHTS_PER_INVOCATION = 8;
/** Dot products per chunk (16 MiB): bounds NT-Xent's scratch memory whatever the batch. */
const CHUNK_ELEMENTS = 1 << 22;

let forcedChunkRows: number | null = null;
/** Forces the rows per chunk (tests cover several chunks and a ragged last one); null restores the budget. */
export function setNtXentChunkRows(rows: number | null): void { forcedChunkRows = rows; }

/** Rows per chunk: all of them when M^2 fits the budget, else a multiple of 128 (whole matmul tiles). */
export function ntXentChunkRows(m: number, maxBindingBytes: number): number {
  if (forcedChunkRows !== null) return Math.min(m, forcedChunkRows);
  const budget = Math.min(CHUNK_ELEMENTS, Math.floor(maxBindingBytes / 4));
  const r = Math.max(1, Math.floor(budget / m));
  if (r >= m) return m;
  return r >= 128 ? r - (r % 128) : r;
}

/**
 * Runs `each(s, r0, rows)` for consecutive chunks of anchor rows, s holding the chunk's dot
 * products <zh_i, zh_j> [rows, M] from the device's matmul kernel; s is reused across chunks
 * (dispatches run in order) and released after the last, or, with `keep` (one chunk: keepsDots),
 * returned: then it holds all M x M dot products.
 */
function forChunks(gpu: WebGpuBackend, z: GpuStorage, m: number, d: number, each: (s: GpuStorage, r0: number, rows: number) => void, keep = false): GpuStorage | null {
  const R = ntXentChunkRows(m, gpu.device.limits.maxStorageBufferBindingSize);
  if (keep && R !== m) throw new DeviceError('ntXentRows', `cannot keep the ${m} x ${m} dot products in one chunk of ${R} rows`);
  const s = gpu.alloc(R * m);
  for (let r0 = 0; r0 < m; r0 += R) {
    const rows = Math.min(R, m - r0);
    matmulRowsGpu(gpu, z, z, s, rows, d, m, { transB: true }, { a: r0 * d, c: 0 });
    each(s, r0, rows);
  }
  if (keep) return s;
  gpu.release(s);
  return null;
}

/**
 * Whether the forward keeps all 2N x 2N dot products for the backward (one chunk: 2N <= 2048),
 * which then skips recomputing them, one of its two GEMMs.
 */
const keepsDots = (m: number) => forcedChunkRows === null && m * m <= CHUNK_ELEMENTS;

const chunkParams = (m: number, rows: number, r0: number, temperature: number) =>
  [u32(m), u32(rows), u32(r0), u32(m / 2), f32(1 / temperature), u32(0), u32(0), u32(0)];

function checkZ(op: string, z: TensorMeta): [number, number] {
  requireF32(op, z);
  if (z.shape.length !== 2 || z.shape[0] < 2 || z.shape[0] % 2 !== 0) {
    throw new ShapeError(op, `embeddings must be [2N, d] with N >= 1 (rows i and i+N are two views of one image), got ${fmtShape(z.shape)}`);
  }
  return [z.shape[0], z.shape[1]];
}

/** Logits s_ij = <zh_i, zh_j> / tau of the candidates of each row, in float64 (CPU reference). */
function cpuLogits(zh: Float64Array, m: number, d: number, tau: number): Float64Array {
  const s = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      let dot = 0;
      for (let k = 0; k < d; k++) dot += zh[i * d + k] * zh[j * d + k];
      s[i * m + j] = dot / tau;
    }
  }
  return s;
}

const posOf = (i: number, m: number) => (i < m / 2 ? i + m / 2 : i - m / 2);

/**
 * Per-anchor NT-Xent losses [2N] of L2-normalized rows zh [2N, d]: row i's loss is
 * logsumexp_{j != i}(s_ij) - s_i,pos(i). Aux: logsumexp per row [2N], and 1 where the positive's
 * logit is strictly above every negative's (else 0) [2N].
 */
export const NtXentRowsOp = defineOp<NtXentAttrs>({
  name: 'ntXentRows',
  shape([z]) { const [m] = checkZ('ntXentRows', z); return { shape: [m], dtype: 'f32' }; },
  aux([z]) {
    const m = z.shape[0];
    return [{ shape: [m], dtype: 'f32' }, { shape: [m], dtype: 'f32' }, { shape: keepsDots(m) ? [m, m] : [0], dtype: 'f32' }];
  },
  cpu(_b, [z], { temperature }) {
    const [m, d] = z.shape;
    const dots = cpuLogits(z.data, m, d, 1);
    const s = dots.map((v) => v / temperature);
    const loss = new Float64Array(m), lse = new Float64Array(m), correct = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      const pos = posOf(i, m);
      let mx = -Infinity, maxNeg = -Infinity;
      for (let j = 0; j < m; j++) {
        if (j === i) continue;
        mx = Math.max(mx, s[i * m + j]);
        if (j !== pos) maxNeg = Math.max(maxNeg, s[i * m + j]);
      }
      let se = 0;
      for (let j = 0; j < m; j++) if (j !== i) se += Math.exp(s[i * m + j] - mx);
      lse[i] = mx + Math.log(se);
      loss[i] = (mx - s[i * m + pos]) + Math.log(se);
      correct[i] = s[i * m + pos] > maxNeg ? 1 : 0;
    }
    return { out: loss, aux: [lse, correct, keepsDots(m) ? dots : new Float64Array(0)] };
  },
  webgpu(gpu, [z], { temperature }) {
    const [m, d] = z.shape;
    const loss = gpu.alloc(m), lse = gpu.alloc(m), correct = gpu.alloc(m);
    const stats = (s: GpuStorage, r0: number, rows: number) => gpu.run({
      shader: 'ntxent_stats', inputs: [s], outputs: [loss, lse, correct],
      params: chunkParams(m, rows, r0, temperature), workgroups: grid(Math.ceil(rows / WG)),
    });
    const dots = forChunks(gpu, z.storage, m, d, stats, keepsDots(m));
    return { out: loss, aux: [lse, correct, dots ?? gpu.alloc(0)] };
  },
  backward(g, ctx) {
    return [ntXentBackward(ctx.inputs[0]!, g, ctx.aux[0], ctx.attrs.temperature, ctx.aux[2])];
  },
  saves: { inputs: [0], aux: true },
});

/**
 * Gradient w.r.t. zh [2N, d] of sum_i g_i * loss_i, given the forward's per-row logsumexp:
 * dzh_a = (1/tau) sum_{j != a} (g_a (p_aj - [j = pos a]) + g_j (p_ja - [a = pos j])) zh_j,
 * p_ij = exp(s_ij - lse_i): a row term (a as anchor) plus a column term (a as every other row's candidate).
 * An optional fourth input holds the forward's dot products <zh_i, zh_j> [2N, 2N] (ntXentRows keeps
 * them up to 2N = 2048; [0]: none), which the WebGPU kernel then uses instead of recomputing them
 * (the CPU reference always recomputes).
 */
export const NtXentBackwardOp = defineOp<NtXentAttrs>({
  name: 'ntXentBackward',
  shape([z, g, lse, dots]) {
    const [m] = checkZ('ntXentBackward', z);
    requireF32('ntXentBackward', g, lse);
    if (g.shape.length !== 1 || g.shape[0] !== m || lse.shape.length !== 1 || lse.shape[0] !== m) {
      throw new ShapeError('ntXentBackward', `g and lse must be [${m}] for zh ${fmtShape(z.shape)}, got ${fmtShape(g.shape)} and ${fmtShape(lse.shape)}`);
    }
    if (dots && !(dots.shape.length === 1 && dots.shape[0] === 0) && !(dots.shape.length === 2 && dots.shape[0] === m && dots.shape[1] === m)) {
      throw new ShapeError('ntXentBackward', `the forward's dot products must be [${m}, ${m}] (or [0]: none) for zh ${fmtShape(z.shape)}, got ${fmtShape(dots.shape)}`);
    }
    return { shape: z.shape, dtype: 'f32' };
  },
  cpu(_b, [z, g, lse], { temperature }) {
    const [m, d] = z.shape;
    const s = cpuLogits(z.data, m, d, temperature);
    const out = new Float64Array(m * d);
    for (let a = 0; a < m; a++) {
      const pos = posOf(a, m);
      for (let j = 0; j < m; j++) {
        if (j === a) continue;
        const v = s[a * m + j];
        let w = g.data[a] * Math.exp(v - lse.data[a]) + g.data[j] * Math.exp(v - lse.data[j]);
        if (j === pos) w -= g.data[a] + g.data[j];
        for (let k = 0; k < d; k++) out[a * d + k] += w * z.data[j * d + k];
      }
      for (let k = 0; k < d; k++) out[a * d + k] /= temperature;
    }
    return out;
  },
  webgpu(gpu, [z, g, lse, dots], { temperature }) {
    const [m, d] = z.shape;
    const out = gpu.alloc(m * d);
    const weigh = (s: GpuStorage, r0: number, rows: number) => {
      const items = rows * Math.ceil(m / WEIGHTS_PER_INVOCATION);
      gpu.run({
        shader: 'ntxent_weights', inputs: [g.storage, lse.storage], outputs: [s],
        params: chunkParams(m, rows, r0, temperature), workgroups: grid(Math.ceil(items / WG)),
      });
      // the chunk's rows of dZ = W Z
      matmulRowsGpu(gpu, s, z.storage, out, rows, m, d, {}, { a: 0, c: r0 * d });
    };
    if (dots && dots.size === m * m) {
      // the weights overwrite their input, and a retained graph may run this backward again
      const s = gpu.alloc(m * m);
      gpu.copy(dots.storage, s, m * m * 4);
      weigh(s, 0, m);
      gpu.release(s);
    } else forChunks(gpu, z.storage, m, d, weigh);
    return out;
  },
});

function checkTemperature(op: string, t: number): void {
  if (!(t > 0) || !Number.isFinite(t)) throw new ArgumentError(op, `temperature must be a positive finite number, got ${t}`);
}

export function ntXentRows(zh: Tensor, temperature: number): { loss: Tensor; lse: Tensor; correct: Tensor } {
  checkTemperature('ntXentRows', temperature);
  const { out, aux } = runOpAux(NtXentRowsOp, [zh], { temperature });
  aux[2].dispose(); // the dot products live on only as the backward's saved copy
  return { loss: out, lse: aux[0], correct: aux[1] };
}

export function ntXentBackward(zh: Tensor, g: Tensor, lse: Tensor, temperature: number, dots?: Tensor): Tensor {
  checkTemperature('ntXentBackward', temperature);
  return runOp(NtXentBackwardOp, dots ? [zh, g, lse, dots] : [zh, g, lse], { temperature });
}

export interface NtXentOptions { temperature?: number }

/**
 * The temperature of a loss called as `loss(x, 0.1)` or `loss(x, { temperature: 0.1 })`; anything
 * else (another key, a string, a non-positive number) is an ArgumentError, never a silent default.
 */
export function lossTemperature(op: string, opts: { temperature?: number } | number | undefined, fallback: number): number {
  if (typeof opts === 'number') { checkTemperature(op, opts); return opts; }
  if (opts === undefined) return fallback;
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw new ArgumentError(op, `options must be a temperature or { temperature }, got ${JSON.stringify(opts)}`);
  }
  const unknown = Object.keys(opts).filter((k) => k !== 'temperature');
  if (unknown.length) throw new ArgumentError(op, `unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')} (expected { temperature })`);
  const t = opts.temperature ?? fallback;
  if (typeof t !== 'number') throw new ArgumentError(op, `temperature must be a number, got ${JSON.stringify(t)}`);
  checkTemperature(op, t);
  return t;
}

/**
 * SimCLR's NT-Xent loss of embeddings z [2N, d], where rows i and i+N are the two augmented views
 * of image i. z is L2-normalized inside (SimCLR's hidden_norm: z / max(||z||, 1e-6), as
 * tf.math.l2_normalize with epsilon 1e-12 on the squared norm); the logits are
 * s_ij = <zhat_i, zhat_j> / temperature, the self-similarity s_ii is excluded, and each anchor's
 * positive is its other view: a cross-entropy over the 2N - 1 candidates.
 *
 * Returns `loss`, the MEAN over the 2N anchors, and `accuracy`, the fraction of anchors whose
 * positive's logit is strictly above every negative's (not differentiable). The official TF code
 * (simclr/tf2/objective.py) reports loss_a + loss_b, each a mean over N anchors, i.e. 2x this value;
 * multiply by 2 to compare with it.
 *
 * The temperature is `opts` itself (`ntXent(z, 0.1)`) or `opts.temperature` (default 0.5).
 * Beyond 2N = 2048 the 2N x 2N logits are never stored: forward and backward each stream over the
 * rows in 16 MiB chunks; up to 2048 (one chunk) the forward's dot products wait for the backward.
 */
export const ntXent = defineComposite('ntXent', true, (z: Tensor, opts: NtXentOptions | number = {}): { loss: Tensor; accuracy: Tensor } => {
  const temperature = lossTemperature('ntXent', opts, 0.5);
  checkTemperature('ntXent', temperature);
  checkZ('ntXent', z);
  const zhat = l2Normalize(z);
  const { loss: rows, lse, correct } = ntXentRows(zhat, temperature);
  zhat.dispose();
  lse.dispose();
  const loss = mean(rows);
  rows.dispose();
  const accuracy = noGrad(() => mean(correct));
  correct.dispose();
  return { loss, accuracy };
});
