/**
 * Weighted k-nearest-neighbour classifier, the monitor of SimCLR / InstDisc (Wu et al. 2018,
 * "Unsupervised Feature Learning via Non-Parametric Instance Discrimination", section 3.4):
 *
 *   - bank features [Nb, d] with labels and query features [Nq, d] are L2-normalized
 *     (x / max(||x||, 1e-6), as ntXent), so their dot products are cosine similarities;
 *   - similarities queries x bank^T are computed on the device one chunk of queries at a time, so
 *     only [chunk, Nb] exists at once (never the full Nq x Nb), and each chunk's rows are read back;
 *   - on the host, each query keeps its k most similar bank entries (k clamped to Nb; ties broken
 *     towards the lower bank index), weights each by exp(sim / T), sums the weights per class and
 *     predicts the class with the largest sum (ties towards the lower class index).
 *
 * Returns the fraction of queries predicted correctly and the predictions.
 */
import { ArgumentError, DeviceError, DTypeError, ShapeError, fmtShape } from '../engine/errors.js';
import { noGrad, tidy, type Tensor } from '../engine/tensor.js';
import { matmul, maximum, mul, rsqrt, slice, square, sum } from '../engine/ops/index.js';

export interface KnnOptions {
  /** Neighbours per query; default 200 (clamped to the bank size). */
  k?: number;
  /** Temperature T of the weights exp(sim / T); default 0.1. */
  temperature?: number;
  /** Number of classes; labels must lie in [0, numClasses). */
  numClasses: number;
  /** Queries per device chunk: the similarity block is [chunk, Nb]; default 256. */
  chunk?: number;
  /** L2-normalize bank and queries on the device first (default true; idempotent for unit rows). */
  normalize?: boolean;
}

export interface KnnResult {
  /** Fraction of queries whose prediction equals its label (0 when there are no queries). */
  top1: number;
  /** Predicted class per query. */
  predictions: Int32Array;
}

const OP = 'knnEvaluate';

function checkLabels(name: string, labels: Int32Array, n: number, numClasses: number, featShape: readonly number[]): void {
  if (!(labels instanceof Int32Array)) throw new ArgumentError(OP, `${name} must be an Int32Array`);
  if (labels.length !== n) {
    throw new ShapeError(OP, `${name} has ${labels.length} entries but the features are ${fmtShape(featShape)} (expected ${n})`);
  }
  for (let i = 0; i < n; i++) {
    const l = labels[i];
    if (l < 0 || l >= numClasses) throw new ArgumentError(OP, `${name}[${i}] = ${l} is outside [0, ${numClasses})`);
  }
}

/** Rows scaled to unit length: x / max(||x||, 1e-6). */
function l2Normalize(x: Tensor): Tensor {
  return mul(x, rsqrt(maximum(sum(square(x), 1, true), 1e-12)));
}

/**
 * Indices of the k largest values of row[0..n) (ties towards the lower index), via a size-k
 * min-heap: O(n log k). `heap` is scratch space of length >= k. Returns the count filled (= k).
 */
function topK(row: ArrayLike<number>, n: number, k: number, heap: Int32Array): number {
  // "a is worse than b": smaller value, or equal value and larger index. NaN counts as worst.
  const worse = (a: number, b: number): boolean => {
    const va = row[a], vb = row[b];
    if (va !== vb) {
      if (Number.isNaN(va)) return !Number.isNaN(vb) || a > b;
      if (Number.isNaN(vb)) return false;
      return va < vb;
    }
    return a > b;
  };
  const siftDown = (size: number, start: number): void => {
    let i = start;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < size && worse(heap[l], heap[m])) m = l;
      if (r < size && worse(heap[r], heap[m])) m = r;
      if (m === i) return;
      const t = heap[i]; heap[i] = heap[m]; heap[m] = t;
      i = m;
    }
  };
  for (let j = 0; j < k; j++) heap[j] = j;
  for (let i = (k >> 1) - 1; i >= 0; i--) siftDown(k, i);
  for (let j = k; j < n; j++) {
    if (worse(heap[0], j)) { heap[0] = j; siftDown(k, 0); }
  }
  return k;
}

/**
 * Weighted kNN evaluation (InstDisc / SimCLR monitor). bank [Nb, d] and queries [Nq, d] are f32
 * tensors on one backend; bankLabels (Nb entries) and queryLabels (Nq entries) lie in
 * [0, numClasses). Neither input is modified or disposed.
 */
export async function knnEvaluate(
  bank: Tensor, bankLabels: Int32Array, queries: Tensor, queryLabels: Int32Array, opts: KnnOptions,
): Promise<KnnResult> {
  const { numClasses } = opts ?? ({} as KnnOptions);
  const k = opts?.k ?? 200;
  const temperature = opts?.temperature ?? 0.1;
  const chunk = opts?.chunk ?? 256;
  const normalize = opts?.normalize ?? true;
  if (!(Number.isInteger(numClasses) && numClasses > 0)) throw new ArgumentError(OP, `numClasses must be a positive integer, got ${numClasses}`);
  if (!(Number.isInteger(k) && k > 0)) throw new ArgumentError(OP, `k must be a positive integer, got ${k}`);
  if (!(Number.isFinite(temperature) && temperature > 0)) throw new ArgumentError(OP, `temperature must be a finite number > 0, got ${temperature}`);
  if (!(Number.isInteger(chunk) && chunk > 0)) throw new ArgumentError(OP, `chunk must be a positive integer, got ${chunk}`);
  if (bank.isDisposed || queries.isDisposed) throw new ArgumentError(OP, `${bank.isDisposed ? 'bank' : 'queries'} was disposed`);
  if (bank.rank !== 2) throw new ShapeError(OP, `bank must be [Nb, d], got ${fmtShape(bank.shape)}`);
  if (queries.rank !== 2) throw new ShapeError(OP, `queries must be [Nq, d], got ${fmtShape(queries.shape)}`);
  const [nb, d] = bank.shape;
  const [nq, dq] = queries.shape;
  if (dq !== d) throw new ShapeError(OP, `feature widths differ: bank ${fmtShape(bank.shape)} vs queries ${fmtShape(queries.shape)}`);
  if (nb === 0) throw new ShapeError(OP, `bank is empty: ${fmtShape(bank.shape)}`);
  if (bank.dtype !== 'f32' || queries.dtype !== 'f32') {
    throw new DTypeError(OP, `bank and queries must be f32, got ${bank.dtype} and ${queries.dtype}`, bank.dtype !== 'f32' ? bank.dtype : queries.dtype);
  }
  if (bank.backend !== queries.backend) throw new DeviceError(OP, 'bank and queries live on different backends');
  checkLabels('bankLabels', bankLabels, nb, numClasses, bank.shape);
  checkLabels('queryLabels', queryLabels, nq, numClasses, queries.shape);

  const kk = Math.min(k, nb);
  const predictions = new Int32Array(nq);
  if (nq === 0) return { top1: 0, predictions };
  const heap = new Int32Array(kk);
  const votes = new Float64Array(numClasses);
  const invT = 1 / temperature;
  let correct = 0;

  const bankN = normalize ? noGrad(() => tidy(() => l2Normalize(bank))) : null;
  try {
    const b = bankN ?? bank;
    for (let start = 0; start < nq; start += chunk) {
      const rows = Math.min(chunk, nq - start);
      const sim = noGrad(() => tidy(() => {
        const q = rows === nq ? queries : slice(queries, [start], [rows]);
        return matmul(normalize ? l2Normalize(q) : q, b, { transB: true });
      }));
      let s: Float32Array;
      try {
        s = (await sim.data()) as Float32Array;
      } finally {
        sim.dispose();
      }
      for (let r = 0; r < rows; r++) {
        const row = s.subarray(r * nb, (r + 1) * nb);
        topK(row, nb, kk, heap);
        // Weights exp(sim / T), each scaled by exp(-top / T) so small T cannot overflow; the
        // common factor does not change the argmax.
        let top = -Infinity;
        for (let j = 0; j < kk; j++) top = Math.max(top, row[heap[j]]);
        votes.fill(0);
        for (let j = 0; j < kk; j++) {
          const idx = heap[j];
          votes[bankLabels[idx]] += Math.exp((row[idx] - top) * invT);
        }
        let best = 0;
        for (let c = 1; c < numClasses; c++) if (votes[c] > votes[best]) best = c;
        const qi = start + r;
        predictions[qi] = best;
        if (best === queryLabels[qi]) correct++;
      }
    }
  } finally {
    bankN?.dispose();
  }
  return { top1: correct / nq, predictions };
}
