/**
 * Matrix multiplication: C = op(A) op(B) with op = identity or transpose, 2-D or batched, where a
 * 2-D operand broadcasts over the other's batch. The kernels read each operand with the strides
 * its layout implies (the backward rule picks the trans flags that make every gradient one more
 * matmul); only the CPU kernels copy an operand transposed first, where reading it as stored would
 * walk down rows of 8 KiB or more (WALK_ROW).
 *
 * Three WebGPU kernels (shaders/matmul*.wgsl). For CPU adapters (lavapipe runs a workgroup on one
 * thread with invocations 8 to a SIMD vector, so barriers and workgroup memory only cost, and each
 * lane's storage load is a gather): a barrier-free kernel whose 8-lane subgroups share A through
 * subgroupBroadcast, and a plain register-tiled one where subgroups are unavailable. For real GPUs:
 * a workgroup-memory tiled kernel. The choice is made per device when the pipeline is created;
 * `setMatmulKernel` forces one (tests and benchmarks run every variant).
 */
import { DTypeError, DeviceError, ShapeError, fmtShape } from '../errors.js';
import { sizeOf } from '../shape.js';
import { u32, MAX_WORKGROUPS_PER_DIM, type GpuStorage, type WebGpuBackend } from '../webgpu/backend.js';
import type { Tensor } from '../tensor.js';
import { defineOp, runOp } from './registry.js';
import { sum } from './reduce.js';
import { reshape, transposeGpu } from './movement.js';

export interface MatmulOptions {
  /** Use A's transpose: A is [..., K, M]. */
  transA?: boolean;
  /** Use B's transpose: B is [..., N, K]. */
  transB?: boolean;
}

interface MatmulAttrs { readonly transA: boolean; readonly transB: boolean }

/** A WebGPU matmul kernel configuration. */
export type MatmulKernel =
  /** shaders/matmul_subgroup.wgsl: tm rows x (8 * tn) columns per 8-lane subgroup, wg invocations, sgn subgroups along N. */
  | { readonly kind: 'subgroup'; readonly tm: number; readonly tn: number; readonly wg: number; readonly sgn: number; readonly vec?: boolean }
  /** shaders/matmul.wgsl: tm x tn per invocation, wg invocations, wgn of them along N. */
  | { readonly kind: 'register'; readonly tm: number; readonly tn: number; readonly wg: number; readonly wgn: number; readonly vec?: boolean }
  /** shaders/matmul_tiled.wgsl: 64 x 64 tiles through workgroup memory, 256 invocations. */
  | { readonly kind: 'tiled' };

/** Fastest measured on lavapipe (bench/variants.ts): with 8-wide subgroups, and without. */
export const CPU_SUBGROUP_KERNEL: MatmulKernel = { kind: 'subgroup', tm: 16, tn: 4, wg: 64, sgn: 1 };
export const CPU_ADAPTER_KERNEL: MatmulKernel = { kind: 'register', tm: 8, tn: 8, wg: 64, wgn: 64 };
export const GPU_KERNEL: MatmulKernel = { kind: 'tiled' };

let forced: MatmulKernel | null = null;

/** Forces a kernel for every WebGPU matmul (null restores the per-device choice). */
export function setMatmulKernel(k: MatmulKernel | null): void { forced = k; }

/** Whether the device runs matmul_subgroup.wgsl: subgroups enabled, and exactly 8 lanes. */
export function hasSubgroups8(gpu: WebGpuBackend): boolean {
  let v = subgroups8.get(gpu);
  if (v === undefined) {
    const info = gpu.device.adapterInfo as GPUAdapterInfo | undefined;
    v = gpu.device.features.has('subgroups') && info?.subgroupMinSize === 8 && info?.subgroupMaxSize === 8;
    subgroups8.set(gpu, v);
  }
  return v;
}
const subgroups8 = new WeakMap<WebGpuBackend, boolean>();

export function matmulKernelFor(gpu: WebGpuBackend): MatmulKernel {
  if (forced) return forced;
  if (!gpu.isCpuAdapter) return GPU_KERNEL;
  return hasSubgroups8(gpu) ? CPU_SUBGROUP_KERNEL : CPU_ADAPTER_KERNEL;
}

function flags(t: MatmulAttrs): string {
  const f = [t.transA && 'transA', t.transB && 'transB'].filter(Boolean);
  return f.length ? ` with ${f.join(', ')}` : '';
}

interface Dims { M: number; K: number; N: number; batch: number[]; batchedA: boolean; batchedB: boolean }

function dims(a: readonly number[], b: readonly number[], t: MatmulAttrs): Dims {
  if (a.length < 2 || b.length < 2) {
    throw new ShapeError('matmul', `expected inputs of rank >= 2, got ${fmtShape(a)} x ${fmtShape(b)}`);
  }
  const [ar, ac] = a.slice(-2);
  const [br, bc] = b.slice(-2);
  const M = t.transA ? ac : ar, K = t.transA ? ar : ac;
  const Kb = t.transB ? bc : br, N = t.transB ? br : bc;
  if (K !== Kb) throw new ShapeError('matmul', `inner dimensions differ: ${fmtShape(a)} x ${fmtShape(b)}${flags(t)}`);
  const ba = a.slice(0, -2), bb = b.slice(0, -2);
  if (ba.length > 0 && bb.length > 0 && (ba.length !== bb.length || ba.some((d, i) => d !== bb[i]))) {
    throw new ShapeError('matmul', `batch dimensions differ: ${fmtShape(a)} x ${fmtShape(b)} (they must be equal, or one input 2-D)`);
  }
  return { M, K, N, batch: ba.length > 0 ? ba : bb, batchedA: ba.length > 0, batchedB: bb.length > 0 };
}

export const MatmulOp = defineOp<MatmulAttrs>({
  name: 'matmul',
  shape([a, b], t) {
    for (const x of [a, b]) {
      if (x.dtype !== 'f32') throw new DTypeError('matmul', `expected f32 inputs, got ${a.dtype} ${fmtShape(a.shape)} x ${b.dtype} ${fmtShape(b.shape)}`, x.dtype);
    }
    const d = dims(a.shape, b.shape, t);
    return { shape: [...d.batch, d.M, d.N], dtype: 'f32' };
  },
  cpu(_b, [a, b], t) {
    const { M, K, N, batch, batchedA, batchedB } = dims(a.shape, b.shape, t);
    const nb = sizeOf(batch);
    const out = new Float64Array(nb * M * N);
    // op(A)[m,k] = A[aOff + m*sam + k*sak]; op(B)[k,n] = B[bOff + k*sbk + n*sbn].
    const sam = t.transA ? 1 : K, sak = t.transA ? M : 1;
    const sbk = t.transB ? 1 : N, sbn = t.transB ? K : 1;
    for (let z = 0; z < nb; z++) {
      const aOff = batchedA ? z * M * K : 0, bOff = batchedB ? z * K * N : 0, cOff = z * M * N;
      for (let m = 0; m < M; m++) {
        for (let n = 0; n < N; n++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += a.data[aOff + m * sam + k * sak] * b.data[bOff + k * sbk + n * sbn];
          out[cOff + m * N + n] = s;
        }
      }
    }
    return out;
  },
  webgpu(gpu, [a, b], t, meta) {
    const d = dims(a.shape, b.shape, t);
    const out = gpu.alloc(sizeOf(meta.shape));
    matmulGpu(gpu, a.storage, b.storage, out, d, t, matmulKernelFor(gpu));
    return out;
  },
  backward(g, ctx) {
    const [a, b] = ctx.inputs as Tensor[];
    const { transA, transB } = ctx.attrs;
    // C = op(A) op(B): d op(A) = dC op(B)^T and d op(B) = op(A)^T dC; where op is a transpose,
    // transpose the product instead, (XY)^T = Y^T X^T, so no transpose is ever materialized.
    let ga: Tensor | null = null, gb: Tensor | null = null;
    if (ctx.needs[0]) {
      ga = !transA
        ? (transB ? matmul(g, b) : matmul(g, b, { transB: true }))
        : (transB ? matmul(b, g, { transA: true, transB: true }) : matmul(b, g, { transB: true }));
      ga = sumBatch(ga, ctx.inputShapes[0]);
    }
    if (ctx.needs[1] && !transA && a.rank > 2 && ctx.inputShapes[1].length === 2) {
      // B broadcast over A's batch: fold the batch into the rows, one [batch*M, K]^T [batch*M, N]
      // product instead of a batched one and a sum.
      const a2 = reshape(a, [-1, a.shape[a.rank - 1]]), g2 = reshape(g, [-1, g.shape[g.rank - 1]]);
      gb = transB ? matmul(g2, a2, { transA: true }) : matmul(a2, g2, { transA: true });
    } else if (ctx.needs[1]) {
      gb = !transB
        ? (transA ? matmul(a, g) : matmul(a, g, { transA: true }))
        : (transA ? matmul(g, a, { transA: true, transB: true }) : matmul(g, a, { transA: true }));
      gb = sumBatch(gb, ctx.inputShapes[1]);
    }
    return [ga, gb];
  },
  saves: { inputs: true },
});

/** The gradient of a 2-D operand broadcast over a batch sums over the batch axes. */
function sumBatch(g: Tensor, shape: readonly number[]): Tensor {
  if (g.rank === shape.length) return g;
  return sum(g, Array.from({ length: g.rank - shape.length }, (_, i) => i), false);
}

/** op(A) op(B): A [..., M, K] (or [..., K, M] with transA), B [..., K, N] (or [..., N, K] with transB). */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  return runOp(MatmulOp, [a, b], { transA: opts.transA ?? false, transB: opts.transB ?? false });
}

/**
 * Records out[cBase..] = op(A[aBase..]) op(B) for 2-D operands with the device's kernel: for ops
 * built on matmul that work on blocks of rows of one buffer (NT-Xent's chunks). aBase must be a
 * multiple of 4 when A is not transposed and K % 4 == 0 (vector loads).
 */
export function matmulRowsGpu(gpu: WebGpuBackend, a: GpuStorage, b: GpuStorage, out: GpuStorage,
  M: number, K: number, N: number, t: MatmulOptions, bases: { a: number; c: number }): void {
  const attrs = { transA: t.transA ?? false, transB: t.transB ?? false };
  matmulGpu(gpu, a, b, out, { M, K, N, batch: [], batchedA: false, batchedB: false }, attrs, matmulKernelFor(gpu), bases);
}

/**
 * Records out[b] = A[b] op(B[b]) for `batch` stacked [M,K] and op(B) [K,N] operands (out [batch,M,N])
 * with `kernel`: for ops built on batched products of their own buffers (the Winograd
 * convolution's 36 GEMMs).
 */
export function matmulBatchedGpu(gpu: WebGpuBackend, a: GpuStorage, b: GpuStorage, out: GpuStorage,
  batch: number, M: number, K: number, N: number, kernel: MatmulKernel, transB = false): void {
  matmulGpu(gpu, a, b, out, { M, K, N, batch: [batch], batchedA: true, batchedB: true }, { transA: false, transB }, kernel);
}

/**
 * Row length (elements) from which the CPU kernels read an operand they walk down its rows (B, or
 * A^T) through a transposed copy instead. On lavapipe, 2048^3: A B 566 ms, A B^T 391 ms (the same
 * kernel reading B^T along K); at 1024^3 the two were equal.
 */
const WALK_ROW = 2048;
/** Only where the other side of the product is this long, so that the copy (2 K N words) is small against the M K N multiply-adds. */
const WALK_MIN_OTHER = 128;

/** Records the matmul kernel for op(A) op(B) into `out`. */
function matmulGpu(gpu: WebGpuBackend, a: GpuStorage, b: GpuStorage, out: GpuStorage, d: Dims, t: MatmulAttrs, kernel: MatmulKernel,
  bases = { a: 0, c: 0 }): void {
  let { M, N } = d;
  const { K } = d;
  let nb = sizeOf(d.batch);
  if (nb === 0 || M === 0 || N === 0) return;
  let strideA = d.batchedA ? M * K : 0;
  const strideB = d.batchedB ? K * N : 0;
  // A batched A times a broadcast B is one tall matmul: [batch*M, K] x [K, N].
  if (!t.transA && strideB === 0 && nb > 1) { M *= nb; nb = 1; strideA = 0; }
  if (kernel.kind !== 'tiled' && K % 4 === 0) {
    // The CPU kernels read B [K, N] and A^T [K, M] a row per k: with rows of 8 KiB and more that
    // walk is slow (the WALK_ROW measurement), so they read a transposed copy along K instead.
    const tb = !t.transB && N >= WALK_ROW && N % 4 === 0 && M >= WALK_MIN_OTHER;
    const ta = t.transA && M >= WALK_ROW && M % 4 === 0 && N >= WALK_MIN_OTHER && bases.a === 0;
    if (tb || ta) {
      const at = ta ? transposeGpu(gpu, a, strideA ? nb : 1, K, M) : a;
      const bt = tb ? transposeGpu(gpu, b, strideB ? nb : 1, K, N) : b;
      matmulGpu(gpu, at, bt, out, d, { transA: t.transA && !ta, transB: t.transB || tb }, kernel, bases);
      if (ta) gpu.release(at);
      if (tb) gpu.release(bt);
      return;
    }
  }
  let shader: 'matmul' | 'matmul_tiled' | 'matmul_subgroup';
  let constants: Record<string, number>;
  let tileM: number, tileN: number;
  if (kernel.kind === 'tiled') {
    shader = 'matmul_tiled';
    constants = { TRANS_A: +t.transA, TRANS_B: +t.transB };
    tileM = tileN = 64;
  } else {
    const vec = kernel.vec ?? true;
    constants = {
      TRANS_A: +t.transA, TRANS_B: +t.transB,
      // vector loads along the operand's contiguous axis: K for A, M for A^T, N for B, K for B^T
      VEC_A: +(vec && bases.a % 4 === 0 && (t.transA ? M % 4 === 0 : K % 4 === 0)),
      VEC_B: +(vec && (t.transB ? K % 4 === 0 : N % 4 === 0)),
      TM: kernel.tm, TN: kernel.tn, WG: kernel.wg,
    };
    if (kernel.kind === 'register') {
      shader = 'matmul';
      constants.WGN = kernel.wgn;
      tileM = kernel.tm * (kernel.wg / kernel.wgn);
      tileN = kernel.tn * kernel.wgn;
    } else {
      if (!hasSubgroups8(gpu)) throw new DeviceError('matmul', 'the subgroup kernel needs the subgroups feature with 8-wide subgroups');
      shader = 'matmul_subgroup';
      constants.SGN = kernel.sgn;
      tileM = kernel.tm * (kernel.wg / 8 / kernel.sgn);
      tileN = kernel.tn * 8 * kernel.sgn;
    }
  }
  const gx = Math.ceil(N / tileN), gy = Math.ceil(M / tileM);
  for (let z0 = 0; z0 < nb; z0 += MAX_WORKGROUPS_PER_DIM) {
    gpu.run({
      shader, constants, inputs: [a, b], outputs: [out],
      params: [u32(M), u32(K), u32(N), u32(z0), u32(strideA), u32(strideB), u32(bases.a), u32(bases.c)],
      workgroups: [gx, gy, Math.min(nb - z0, MAX_WORKGROUPS_PER_DIM)],
    });
  }
}
