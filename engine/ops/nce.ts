/**
 * Contrastive losses over all locations of a batch: the score matrices of AMDIM, YADIM and CPC are
 * [M, N] dot products of M anchors (one vector per image, or every predicted patch) with N targets
 * (every location of every image's feature map). At CPC's sizes (M = B * 42, N = B * 49) they are
 * hundreds of MiB, so they are never stored:
 *
 * - `nceLogSumExp` (primitive): per anchor row r, lse_r = log sum_n exp(f(s <a_r, b_n>)) over the
 *   allowed columns n, with f the identity or AMDIM's soft clip c tanh(x / c); optionally each row's
 *   own group of columns is left out (AMDIM's positives: row r is image r, columns r * L .. r * L + L
 *   are its own locations). Auxiliary output: the largest allowed score per row (for the accuracy).
 *   shaders/nce_forward.wgsl streams over the columns with an online max and sum of exponentials (as
 *   the fused NT-Xent does); backward recomputes the scores: the anchors' gradient by
 *   nce_grad_a.wgsl (one invocation per anchor), the targets' by nce_grad_b.wgsl (one per target).
 *   On CPU adapters the op goes by bounded tiles of scores instead (tiledForward, tiledBackward):
 *   the dot products of a block of rows by the matmul kernel, then one pass over the tile
 *   (nceTileLse for the forward, nceTileWeights for the backward's weights, then two matmuls);
 *   lavapipe runs that faster than the streaming kernels. The kernels there copy their own row
 *   into private memory first (d <= 256; nceEntry), which lavapipe reads as vectors instead of
 *   per-lane gathers. The whole score matrix is stored on neither path.
 * - `featureMapNce` (composite): AMDIM's NCE (Bachman et al. 2019, as pl_bolts' AmdimNCELoss):
 *   scores s = <src_i, tgt_(j,l)> / sqrt(d), soft-clipped by tclip tanh(s / tclip); each of image
 *   i's L locations is a positive whose negatives are all locations of the other images; loss =
 *   mean over (i, l) of -log(exp(p_il) / (exp(p_il) + sum_neg exp)); plus the score regularizer
 *   0.05 mean(s^2) over the unclipped [B, B * L] scores, computed as 0.05 trace(S G S^T) / (B B L d)
 *   with G = tgt^T tgt, so that matrix is not stored either.
 * - `cpcInfoNce` (composite): CPC's InfoNCE: each prediction row's target is one column (its label),
 *   every column of the batch is in the denominator: mean over rows of lse_r - <pred_r, tgt_label_r>.
 */
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { StorageRef, Tensor, noGrad, tidy } from '../tensor.js';
import { WebGpuBackend, f32, grid, u32, type GpuStorage } from '../webgpu/backend.js';
import { add, affine, greater, greaterEqual, mul, sub, tanh } from './elementwise.js';
import { matmul } from './matmul.js';
import { broadcastTo, concat, reshape, slice } from './movement.js';
import { gather } from './gather.js';
import { mean, sum } from './reduce.js';
import { logsumexp } from './softmax.js';
import { defineComposite, defineOp, requireF32, runOp, runOpAux, type CpuInput, type GpuInput, type TensorMeta } from './registry.js';

export interface NceAttrs {
  readonly scale: number;
  /** Soft clip c > 0 (f(x) = c tanh(x / c)), or 0 for none. */
  readonly clip: number;
  /** Rows per group and columns per group of the exclusion; rowsPerGroup 0: no exclusion. */
  readonly rowsPerGroup: number;
  readonly colsPerGroup: number;
}

export interface NceScoreOptions {
  /** Scores are f(scale <a_r, b_n>) (default 1). */
  scale?: number;
  /** AMDIM's soft clip c: f(x) = c tanh(x / c); 0 or absent for none. */
  clip?: number;
  /** Leave out each row's own group: row r is in group floor(r / rowsPerGroup), column n in floor(n / colsPerGroup). */
  exclude?: { rowsPerGroup: number; colsPerGroup: number };
}

const WG = 64;
/** The cached kernels keep the own row in a private array of this many floats (shaders/lib/nce_rows.wgsl). */
const ROW_CACHE = 256;
/** Largest tile of scores the tiled path materializes (floats; 16 MiB). */
const TILE_FLOATS = 1 << 22;

/**
 * Kernel entry point: on CPU adapters a private copy of the row turns every lane's gather into one
 * vector read (and the gradient kernels sum in private memory); GPUs keep reading storage, so the
 * 256 floats do not take their registers. Tests run every path (ncePathForTests).
 */
export function nceEntry(gpu: WebGpuBackend, d: number): 'main' | 'main_cached' {
  const forced = ncePathForTests.force;
  if (forced) return forced === 'cached' && d <= ROW_CACHE ? 'main_cached' : 'main';
  return gpu.isCpuAdapter && d <= ROW_CACHE ? 'main_cached' : 'main';
}
/** @internal Test hook: force one path of the NCE backward ('tiled') or kernels ('cached', 'streamed'). */
export const ncePathForTests: { force: 'tiled' | 'cached' | 'streamed' | null } = { force: null };

/** Row blocks of whole groups whose [rows, N] scores fit TILE_FLOATS: [first row, rows] pairs. */
function rowBlocks(m: number, n: number, at: NceAttrs): [number, number][] {
  const rpg = at.rowsPerGroup || 1;
  const block = Math.min(m, rpg * Math.max(1, Math.floor(TILE_FLOATS / (rpg * n))));
  const out: [number, number][] = [];
  for (let r0 = 0; r0 < m; r0 += block) out.push([r0, Math.min(block, m - r0)]);
  return out;
}

/**
 * The forward by score tiles (CPU adapters): rows in blocks whose [rows, N] dot products fit
 * TILE_FLOATS, each block's by the matmul kernel (22-32 GFLOP/s on lavapipe, where the streaming
 * kernels reach about 4), then one pass over the tile for each row's logsumexp and max
 * (nceTileLse). The full [M, N] matrix is never stored.
 */
function tiledForward(a: Tensor, b: Tensor, at: NceAttrs): [Tensor, Tensor] {
  const lse: Tensor[] = [], mx: Tensor[] = [];
  for (const [r0, rows] of rowBlocks(a.shape[0], b.shape[0], at)) {
    const [l, m] = tidy(() => {
      const r = runOpAux(NceTileLseOp, [matmul(slice(a, [r0, 0], [rows, a.shape[1]]), b, { transB: true })], { ...at, rowOffset: r0 });
      return [r.out, r.aux[0]];
    });
    lse.push(l); mx.push(m);
  }
  return [joinRows(lse), joinRows(mx)];
}

/**
 * The backward by the same tiles: per block, the dot products again (matmul), the weights
 * W = g exp(f(S) - lse) f'(S) with the own groups zeroed in one pass (nceTileWeights), then
 * dA = W B and dB += W^T A (matmul).
 */
function tiledBackward(a: Tensor, b: Tensor, g: Tensor, lse: Tensor, at: NceAttrs, needs: readonly boolean[]): [Tensor | null, Tensor | null] {
  const parts: Tensor[] = [];
  let db: Tensor | null = null;
  for (const [r0, rows] of rowBlocks(a.shape[0], b.shape[0], at)) {
    const [da, dbPart] = tidy(() => {
      const ar = slice(a, [r0, 0], [rows, a.shape[1]]);
      const w = runOp(NceTileWeightsOp, [matmul(ar, b, { transB: true }), slice(lse, [r0], [rows]), slice(g, [r0], [rows])], { ...at, rowOffset: r0 });
      return [needs[0] ? matmul(w, b) : null, needs[1] ? matmul(w, ar, { transA: true }) : null];
    });
    if (da) parts.push(da);
    if (dbPart) {
      const next: Tensor = db ? add(db, dbPart) : dbPart;
      if (db) { db.dispose(); dbPart.dispose(); }
      db = next;
    }
  }
  return [needs[0] ? joinRows(parts) : null, db];
}

/** Row blocks stacked back into one tensor (the blocks are disposed). */
function joinRows(ts: Tensor[]): Tensor {
  if (ts.length === 1) return ts[0];
  const t = concat(ts, 0);
  ts.forEach((x) => x.dispose());
  return t;
}

/** Whether forward and backward run by tiles: CPU adapters (or forced). */
function useTiles(backend: Tensor['backend']): boolean {
  const forced = ncePathForTests.force;
  return forced ? forced === 'tiled' : backend instanceof WebGpuBackend && backend.isCpuAdapter;
}

/**
 * A handle on an op input's storage for running other ops inside a kernel function: the reference
 * count starts at 2, so disposing the handle never releases the storage, which stays the input's.
 */
function borrowed(gpu: WebGpuBackend, x: GpuInput): Tensor {
  return new Tensor(new StorageRef(gpu, x.storage).retain(), x.shape, x.dtype, false);
}

/** The storage of a tensor computed inside a kernel function, handed over as the kernel's output. */
function handOver(t: Tensor): GpuStorage {
  const ref = t.ref('nceLogSumExp').retain();
  t.dispose();
  return ref.storage as GpuStorage;
}
/** tanh saturates in f32 beyond this; clamping keeps implementations that compute it from exponentials finite. */
const TANH_ARG_MAX = 15;

function checkRows(op: string, a: TensorMeta, b: TensorMeta): [number, number, number] {
  requireF32(op, a, b);
  if (a.shape.length !== 2 || a.shape[0] < 1) throw new ShapeError(op, `anchors must be [M, d] with M >= 1, got ${fmtShape(a.shape)}`);
  if (b.shape.length !== 2 || b.shape[1] !== a.shape[1] || b.shape[0] < 1) {
    throw new ShapeError(op, `targets must be [N, ${a.shape[1]}] with N >= 1, got ${fmtShape(b.shape)}`);
  }
  return [a.shape[0], b.shape[0], a.shape[1]];
}

function checkRowVector(op: string, what: string, t: TensorMeta, m: number): void {
  requireF32(op, t);
  if (t.shape.length !== 1 || t.shape[0] !== m) throw new ShapeError(op, `${what} must be [${m}], got ${fmtShape(t.shape)}`);
}

/** The columns [lo, hi) row r leaves out (lo = hi: none). */
function excluded(r: number, n: number, a: NceAttrs): [number, number] {
  if (a.rowsPerGroup === 0) return [n, n];
  const lo = Math.min(Math.floor(r / a.rowsPerGroup) * a.colsPerGroup, n);
  return [lo, Math.min(lo + a.colsPerGroup, n)];
}

const scoreOf = (v: number, a: NceAttrs) => {
  const t = v * a.scale;
  return a.clip > 0 ? a.clip * Math.tanh(Math.max(-TANH_ARG_MAX, Math.min(TANH_ARG_MAX, t / a.clip))) : t;
};
/** d f(scale v) / dv. */
const slopeOf = (v: number, a: NceAttrs) => {
  if (a.clip === 0) return a.scale;
  const th = Math.tanh(Math.max(-TANH_ARG_MAX, Math.min(TANH_ARG_MAX, v * a.scale / a.clip)));
  return a.scale * (1 - th * th);
};

function dotRows(x: CpuInput, i: number, y: CpuInput, j: number, d: number): number {
  let s = 0;
  for (let c = 0; c < d; c++) s += x.data[i * d + c] * y.data[j * d + c];
  return s;
}

/** Calls f(r, n, dot) for every allowed pair. */
function forAllowed(a: CpuInput, b: CpuInput, at: NceAttrs, f: (r: number, n: number, dot: number) => void): void {
  const [m, n, d] = [a.shape[0], b.shape[0], a.shape[1]];
  for (let r = 0; r < m; r++) {
    const [lo, hi] = excluded(r, n, at);
    for (let j = 0; j < n; j++) if (j < lo || j >= hi) f(r, j, dotRows(a, r, b, j, d));
  }
}

const params = (m: number, n: number, d: number, at: NceAttrs) => [
  u32(m), u32(n), u32(d), u32(at.rowsPerGroup), u32(at.colsPerGroup), f32(at.scale), f32(at.clip), u32(0),
];

export const NceLogSumExpOp = defineOp<NceAttrs>({
  name: 'nceLogSumExp',
  shape([a, b], at) {
    const [m, n] = checkRows('nceLogSumExp', a, b);
    for (let r = 0; r < m; r++) {
      const [lo, hi] = excluded(r, n, at);
      if (hi - lo >= n) throw new ArgumentError('nceLogSumExp', `row ${r} excludes all ${n} columns, so it has nothing to contrast with`);
    }
    return { shape: [m], dtype: 'f32' };
  },
  aux([a]) { return [{ shape: [a.shape[0]], dtype: 'f32' }]; },
  cpu(_b, [a, b], at) {
    const m = a.shape[0];
    const mx = new Float64Array(m).fill(-Infinity), se = new Float64Array(m);
    forAllowed(a, b, at, (r, _n, v) => { mx[r] = Math.max(mx[r], scoreOf(v, at)); });
    forAllowed(a, b, at, (r, _n, v) => { se[r] += Math.exp(scoreOf(v, at) - mx[r]); });
    return { out: se.map((s, r) => mx[r] + Math.log(s)), aux: [mx] };
  },
  webgpu(gpu, [a, b], at) {
    const [m, n, d] = [a.shape[0], b.shape[0], a.shape[1]];
    if (useTiles(gpu)) {
      const [l, x] = noGrad(() => tiledForward(borrowed(gpu, a), borrowed(gpu, b), at));
      return { out: handOver(l), aux: [handOver(x)] };
    }
    const lse = gpu.alloc(m), mx = gpu.alloc(m);
    gpu.run({
      shader: 'nce_forward', entry: nceEntry(gpu, d), inputs: [a.storage, b.storage], outputs: [lse, mx],
      params: params(m, n, d, at), constants: { WG }, workgroups: grid(Math.ceil(m / WG)),
    });
    return { out: lse, aux: [mx] };
  },
  backward(g, ctx) {
    const [a, b] = ctx.inputs as [Tensor, Tensor];
    const lse = ctx.output!;
    if (useTiles(a.backend)) return tiledBackward(a, b, g, lse, ctx.attrs, ctx.needs);
    return [
      ctx.needs[0] ? runOp(NceGradAOp, [a, b, g, lse], ctx.attrs) : null,
      ctx.needs[1] ? runOp(NceGradBOp, [a, b, g, lse], ctx.attrs) : null,
    ];
  },
  saves: { inputs: true, output: true },
});

function checkGrad(op: string, [a, b, g, lse]: readonly TensorMeta[]): [number, number, number] {
  const r = checkRows(op, a, b);
  checkRowVector(op, 'g', g, r[0]);
  checkRowVector(op, 'lse', lse, r[0]);
  return r;
}

/** d/da of sum_r g_r lse_r: g_r sum_n p_rn f'(s) scale b_n, p = exp(f(s) - lse) over the allowed columns. */
export const NceGradAOp = defineOp<NceAttrs>({
  name: 'nceGradA',
  shape(inputs) { checkGrad('nceGradA', inputs); return { shape: inputs[0].shape, dtype: 'f32' }; },
  cpu(_b, [a, b, g, lse], at) {
    const d = a.shape[1];
    const out = new Float64Array(a.data.length);
    forAllowed(a, b, at, (r, n, v) => {
      const w = g.data[r] * Math.exp(scoreOf(v, at) - lse.data[r]) * slopeOf(v, at);
      for (let c = 0; c < d; c++) out[r * d + c] += w * b.data[n * d + c];
    });
    return out;
  },
  webgpu(gpu, [a, b, g, lse], at) {
    const [m, n, d] = [a.shape[0], b.shape[0], a.shape[1]];
    const out = gpu.alloc(m * d);
    gpu.run({
      shader: 'nce_grad_a', entry: nceEntry(gpu, d), inputs: [a.storage, b.storage, g.storage, lse.storage], outputs: [out],
      params: params(m, n, d, at), constants: { WG }, workgroups: grid(Math.ceil(m / WG)),
    });
    return out;
  },
});

/** d/db of sum_r g_r lse_r: sum_r g_r p_rn f'(s) scale a_r over the rows for which column n is allowed. */
export const NceGradBOp = defineOp<NceAttrs>({
  name: 'nceGradB',
  shape(inputs) { checkGrad('nceGradB', inputs); return { shape: inputs[1].shape, dtype: 'f32' }; },
  cpu(_b, [a, b, g, lse], at) {
    const d = a.shape[1];
    const out = new Float64Array(b.data.length);
    forAllowed(a, b, at, (r, n, v) => {
      const w = g.data[r] * Math.exp(scoreOf(v, at) - lse.data[r]) * slopeOf(v, at);
      for (let c = 0; c < d; c++) out[n * d + c] += w * a.data[r * d + c];
    });
    return out;
  },
  webgpu(gpu, [a, b, g, lse], at) {
    const [m, n, d] = [a.shape[0], b.shape[0], a.shape[1]];
    const out = gpu.alloc(n * d);
    gpu.run({
      shader: 'nce_grad_b', entry: nceEntry(gpu, d), inputs: [b.storage, a.storage, g.storage, lse.storage], outputs: [out],
      params: params(m, n, d, at), constants: { WG }, workgroups: grid(Math.ceil(n / WG)),
    });
    return out;
  },
});

/** A tile's attributes: the NCE's and the tile's first row in the whole (for the own groups). */
export interface NceTileAttrs extends NceAttrs { readonly rowOffset: number }

function checkTile(op: string, s: TensorMeta, a: NceTileAttrs): [number, number] {
  requireF32(op, s);
  if (s.shape.length !== 2) throw new ShapeError(op, `expected dot products [rows, N], got ${fmtShape(s.shape)}`);
  const [rows, n] = s.shape;
  if (a.rowsPerGroup && ((a.rowOffset % a.rowsPerGroup) !== 0)) throw new ArgumentError(op, `a tile starts at row ${a.rowOffset}, inside a group of ${a.rowsPerGroup} rows`);
  return [rows, n];
}

/** Forward of a tile (CPU adapters' path): per row of dot products s [rows, N], lse and max over the allowed f(scale s). */
export const NceTileLseOp = defineOp<NceTileAttrs>({
  name: 'nceTileLse',
  shape([s], at) { const [rows] = checkTile('nceTileLse', s, at); return { shape: [rows], dtype: 'f32' }; },
  aux([s]) { return [{ shape: [s.shape[0]], dtype: 'f32' }]; },
  cpu(_b, [s], at) {
    const [rows, n] = s.shape;
    const lse = new Float64Array(rows), mx = new Float64Array(rows).fill(-Infinity);
    for (let r = 0; r < rows; r++) {
      const [lo, hi] = excluded(at.rowOffset + r, n, at);
      const vals: number[] = [];
      for (let j = 0; j < n; j++) if (j < lo || j >= hi) vals.push(scoreOf(s.data[r * n + j], at));
      mx[r] = Math.max(...vals);
      lse[r] = mx[r] + Math.log(vals.reduce((acc, v) => acc + Math.exp(v - mx[r]), 0));
    }
    return { out: lse, aux: [mx] };
  },
  webgpu(gpu, [s], at) {
    const [rows, n] = s.shape;
    const lse = gpu.alloc(rows), mx = gpu.alloc(rows);
    gpu.run({ shader: 'nce_tile_lse', inputs: [s.storage], outputs: [lse, mx], params: tileParams(rows, n, at), constants: { WG }, workgroups: grid(Math.ceil(rows / WG)) });
    return { out: lse, aux: [mx] };
  },
});

/** Backward weights of a tile: w = g exp(f(scale s) - lse) f'(scale s) scale, 0 on each row's own group. */
export const NceTileWeightsOp = defineOp<NceTileAttrs>({
  name: 'nceTileWeights',
  shape([s, lse, g], at) {
    const [rows] = checkTile('nceTileWeights', s, at);
    checkRowVector('nceTileWeights', 'lse', lse, rows);
    checkRowVector('nceTileWeights', 'g', g, rows);
    return { shape: s.shape, dtype: 'f32' };
  },
  cpu(_b, [s, lse, g], at) {
    const [rows, n] = s.shape;
    const w = new Float64Array(rows * n);
    for (let r = 0; r < rows; r++) {
      const [lo, hi] = excluded(at.rowOffset + r, n, at);
      for (let j = 0; j < n; j++) {
        if (j >= lo && j < hi) continue;
        const v = s.data[r * n + j];
        w[r * n + j] = g.data[r] * Math.exp(scoreOf(v, at) - lse.data[r]) * slopeOf(v, at);
      }
    }
    return w;
  },
  webgpu(gpu, [s, lse, g], at) {
    const [rows, n] = s.shape;
    const w = gpu.alloc(rows * n);
    gpu.run({ shader: 'nce_tile_weights', inputs: [s.storage, lse.storage, g.storage], outputs: [w], params: tileParams(rows, n, at), constants: { WG: 256 }, workgroups: grid(Math.ceil(rows * n / 256)) });
    return w;
  },
});

const tileParams = (rows: number, n: number, at: NceTileAttrs) => [
  u32(rows), u32(n), u32(0), u32(at.rowsPerGroup), u32(at.colsPerGroup), f32(at.scale), f32(at.clip), u32(at.rowOffset),
];

function nceAttrs(op: string, o: NceScoreOptions): NceAttrs {
  const scale = o.scale ?? 1, clip = o.clip ?? 0;
  if (!(Number.isFinite(scale) && scale > 0)) throw new ArgumentError(op, `scale must be a positive number, got ${scale}`);
  if (!(Number.isFinite(clip) && clip >= 0)) throw new ArgumentError(op, `clip must be a number >= 0 (0: none), got ${clip}`);
  const ex = o.exclude;
  if (ex && !(Number.isInteger(ex.rowsPerGroup) && ex.rowsPerGroup > 0 && Number.isInteger(ex.colsPerGroup) && ex.colsPerGroup > 0)) {
    throw new ArgumentError(op, `exclude needs positive integer rowsPerGroup and colsPerGroup, got ${JSON.stringify(ex)}`);
  }
  return { scale, clip, rowsPerGroup: ex?.rowsPerGroup ?? 0, colsPerGroup: ex?.colsPerGroup ?? 0 };
}

/**
 * Per anchor row of a [M, d] against targets b [N, d]: lse [M] = log sum_n exp(f(scale <a_r, b_n>))
 * over the allowed columns, and max [M] (no gradient), the largest allowed score. The [M, N] scores
 * are never stored.
 */
export function nceLogSumExp(a: Tensor, b: Tensor, opts: NceScoreOptions = {}): { lse: Tensor; max: Tensor } {
  const { out, aux } = runOpAux(NceLogSumExpOp, [a, b], nceAttrs('nceLogSumExp', opts));
  return { lse: out, max: aux[0] };
}

export interface FeatureMapNceOptions {
  /** Soft clip of the scores (AMDIM's tclip; 0: none). Default 20, pl_bolts' AMDIM default. */
  tclip?: number;
  /** Weight of the score regularizer mean(s^2) (default 0.05, AMDIM's). */
  regWeight?: number;
}

export interface FeatureMapNce {
  /** Mean NCE over every (image, own location) positive. */
  loss: Tensor;
  /** regWeight * mean(s^2) over all [B, B * L] unclipped scores. */
  reg: Tensor;
  /** Fraction of positives scoring above every negative of their row (no gradient). */
  accuracy: Tensor;
}

/**
 * AMDIM's NCE between one source vector per image src [B, d] and every location of the other
 * view's map tgt [B * L, d] (image-major: image i's locations are rows i * L .. i * L + L - 1).
 */
export const featureMapNce = defineComposite('featureMapNce', true, (src: Tensor, tgt: Tensor, opts: FeatureMapNceOptions = {}): FeatureMapNce => {
  const [bsz, n, d] = checkRows('featureMapNce', src, tgt);
  if (n % bsz !== 0) throw new ShapeError('featureMapNce', `targets [${n}, ${d}] must hold the same number of locations for each of the ${bsz} images`);
  if (bsz < 2) throw new ShapeError('featureMapNce', `needs at least 2 images (the other images are the negatives), got ${bsz}`);
  const tclip = opts.tclip ?? 20, regWeight = opts.regWeight ?? 0.05;
  if (!(Number.isFinite(regWeight) && regWeight >= 0)) throw new ArgumentError('featureMapNce', `regWeight must be >= 0, got ${regWeight}`);
  const locs = n / bsz, scale = 1 / Math.sqrt(d);
  return tidy(() => {
    const { lse: negLse, max: negMax } = nceLogSumExp(src, tgt, { scale, clip: tclip, exclude: { rowsPerGroup: 1, colsPerGroup: locs } });
    // the positives' scores [B, L]: image i's source against its own locations
    const raw = affine(sum(mul(reshape(tgt, [bsz, locs, d]), reshape(src, [bsz, 1, d])), 2), scale, 0);
    const pos = tclip > 0 ? affine(tanh(affine(raw, 1 / tclip, 0)), tclip, 0) : raw;
    const both = concat([reshape(pos, [bsz, locs, 1]), reshape(broadcastTo(reshape(negLse, [bsz, 1]), [bsz, locs]), [bsz, locs, 1])], 2);
    const loss = mean(sub(logsumexp(both, 2), pos));
    const gram = matmul(tgt, tgt, { transA: true });
    const reg = affine(sum(mul(matmul(src, gram), src)), regWeight * scale * scale / (bsz * n), 0);
    const accuracy = noGrad(() => mean(greater(pos, reshape(negMax, [bsz, 1]))));
    return { loss, reg, accuracy };
  });
});

/**
 * CPC's InfoNCE: predictions [M, d] against every target vector [N, d] of the batch; row r's positive
 * is column labels[r] (i32 [M]). Returns the mean over rows of logsumexp_n <pred_r, tgt_n> -
 * <pred_r, tgt_label_r> and the fraction of rows whose positive has the top score (no gradient).
 */
export const cpcInfoNce = defineComposite('cpcInfoNce', true, (preds: Tensor, targets: Tensor, labels: Tensor): { loss: Tensor; accuracy: Tensor } => {
  const [m] = checkRows('cpcInfoNce', preds, targets);
  if (labels.dtype !== 'i32' || labels.rank !== 1 || labels.shape[0] !== m) {
    throw new ShapeError('cpcInfoNce', `labels must be i32 [${m}], got ${labels.dtype} ${fmtShape(labels.shape)}`);
  }
  return tidy(() => {
    const { lse, max } = nceLogSumExp(preds, targets);
    const pos = sum(mul(preds, gather(targets, labels, 0)), 1);
    const loss = mean(sub(lse, pos));
    // pos is the row's own score, so it ties with the max when it wins; the slack absorbs the two sums' rounding
    const accuracy = noGrad(() => mean(greaterEqual(affine(pos, 1, 1e-5), max)));
    return { loss, accuracy };
  });
});
