/**
 * NT-Xent forward + backward: the fused streaming op `ntXent` (engine/ops/ntxent.ts) against the
 * naive composition that materializes the 2N x 2N logits (zhat = z / ||z||, logits =
 * zhat zhat^T / tau with the diagonal masked by -1e9, crossEntropy against each row's positive).
 * Times a call (forward, backward to dz, then a wait for the queue) and measures the peak of the
 * backend's live bytes during the call, by wrapping backend.alloc (the only way live bytes grow).
 */
import { backward } from '../engine/autograd.js';
import { Random } from '../engine/random.js';
import { tidy, type Tensor } from '../engine/tensor.js';
import { add, arange, crossEntropy, div, equal, matmul, maximum, mul, ntXent, randn, reshape, rsqrt, square, sum, tensor, transpose } from '../engine/ops/index.js';
import type { WebGpuBackend } from '../engine/webgpu/backend.js';
import { median, timeCalls } from './common.js';
import type { TorchRef } from './torch.js';

export interface NtXentSide {
  /** Median milliseconds per forward + backward (null when it could not run). */
  ms: number | null;
  samplesMs: number[];
  /** Peak live bytes above those live before the call (z itself), over all timed calls. */
  peakBytes: number | null;
  loss: number | null;
  /** Why it did not run, if it did not. */
  error: string | null;
}
export interface TorchNtXentSide { ms: number; samplesMs: number[]; threads: number; msByThreads: Record<number, number> }
export interface NtXentRecord {
  rows: number; d: number; temperature: number; logitsBytes: number; ours: NtXentSide; naive: NtXentSide;
  /** PyTorch's forward + backward of the same composition (bench/torch_ref.py), null without torch. */
  torch: TorchNtXentSide | null;
  speedup: number | null; memoryRatio: number | null;
  /** ours ms / PyTorch ms (above 1: slower). */
  oursOverTorch: number | null;
}

/** Peak of backend.memory().liveBytes, updated after every alloc. */
function peakTracker(backend: WebGpuBackend) {
  const orig = backend.alloc;
  let peak = 0;
  backend.alloc = function (this: WebGpuBackend, size, dtype) {
    const s = orig.call(backend, size, dtype);
    peak = Math.max(peak, backend.memory().liveBytes);
    return s;
  };
  return {
    reset() { peak = backend.memory().liveBytes; },
    get peak() { return peak; },
    restore() { Reflect.deleteProperty(backend, 'alloc'); },
  };
}

/** The naive loss: the [2N, 2N] logits, the diagonal mask and the one-hot targets all materialized. */
function naiveLoss(backend: WebGpuBackend, z: Tensor, temperature: number): Tensor {
  const m = z.shape[0];
  return tidy(() => {
    const idx = arange(m, undefined, 1, { backend });
    const diag = equal(reshape(idx, [m, 1]), reshape(idx, [1, m]));
    const labels = tensor(Array.from({ length: m }, (_, i) => (i < m / 2 ? i + m / 2 : i - m / 2)), [m], { dtype: 'i32', backend });
    const zh = mul(z, rsqrt(maximum(sum(square(z), 1, true), 1e-12)));
    // -1e9, not -inf: crossEntropy multiplies log-probabilities by one-hot rows (-inf * 0 is NaN)
    const logits = add(div(matmul(zh, transpose(zh)), temperature), mul(diag, -1e9));
    return crossEntropy(logits, labels);
  });
}

const errorText = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e)).split('\n')[0].slice(0, 300);

export async function benchNtXent(
  backend: WebGpuBackend, torch: TorchRef | null,
  opts: { sizes: number[]; d: number; temperature: number; samples: (rows: number) => number; progress: (s: string) => void },
): Promise<NtXentRecord[]> {
  const { d, temperature } = opts;
  const maxBinding = backend.device.limits.maxStorageBufferBindingSize;
  const records: NtXentRecord[] = [];
  const tracker = peakTracker(backend);
  try {
    for (const m of opts.sizes) {
      const rng = new Random(7);
      const z = randn([m, d], { rng, backend });
      z.requiresGrad = true;
      const logitsBytes = m * m * 4;
      /** One forward + backward; returns [ms, peak bytes above the live bytes before, loss]. */
      const call = async (naive: boolean, readLoss: boolean): Promise<[number, number, number | null]> => {
        await backend.sync();
        const before = backend.memory().liveBytes;
        tracker.reset();
        const made: Tensor[] = [];
        const ms = await timeCalls(() => {
          let l: Tensor;
          if (naive) l = naiveLoss(backend, z, temperature);
          else { const r = ntXent(z, { temperature }); r.accuracy.dispose(); l = r.loss; }
          backward(l);
          made.push(l);
        }, () => backend.sync());
        const loss = made[0];
        const peak = tracker.peak - before;
        const value = readLoss ? await loss.item() : null;
        loss.dispose();
        z.grad?.dispose();
        z.grad = null;
        return [ms, peak, value];
      };
      const ours: NtXentSide = { ms: null, samplesMs: [], peakBytes: null, loss: null, error: null };
      const naive: NtXentSide = { ms: null, samplesMs: [], peakBytes: null, loss: null, error: null };
      const oursPeaks: number[] = [], naivePeaks: number[] = [];
      // warm-up (pipelines compile, the pool fills); it also reads each loss for a sanity check
      opts.progress(`2N=${m}: warm-up`);
      const [, op, ol] = await call(false, true);
      oursPeaks.push(op);
      ours.loss = ol;
      // logits over the binding limit: the naive version is tried once, after ours's samples
      const overLimit = logitsBytes > maxBinding;
      let naiveOk = !overLimit;
      if (!overLimit) {
        try {
          const [, np, nl] = await call(true, true);
          naivePeaks.push(np);
          naive.loss = nl;
        } catch (e) {
          naiveOk = false;
          naive.error = errorText(e);
          z.grad?.dispose();
          z.grad = null;
          opts.progress(`2N=${m}: naive failed: ${naive.error}`);
        }
      }
      let tside: TorchNtXentSide | null = null;
      if (torch) {
        await torch.setup('ntxent', { rows: m, d, temperature });
        tside = { ms: 0, samplesMs: [], ...(await torch.pickThreads()) };
      }
      const n = opts.samples(m);
      // short calls are timed on the second of two in a row, as PyTorch's are (TORCH_PROTOCOL)
      const warmOurs = torch?.warmCalls ?? false;
      for (let s = 0; s < n; s++) {
        if (warmOurs) await call(false, false);
        const [oms, opk] = await call(false, false);
        ours.samplesMs.push(oms);
        oursPeaks.push(opk);
        let line = `2N=${m}: sample ${s + 1}/${n}: ours ${oms.toFixed(1)} ms`;
        if (torch && tside) {
          const t = (await torch.run()).ms;
          tside.samplesMs.push(t);
          line += `, PyTorch ${t.toFixed(1)} ms`;
        }
        if (naiveOk) {
          try {
            if (warmOurs) await call(true, false);
            const [nms, npk] = await call(true, false);
            naive.samplesMs.push(nms);
            naivePeaks.push(npk);
            line += `, naive ${nms.toFixed(1)} ms`;
          } catch (e) {
            naiveOk = false;
            naive.error = errorText(e);
            line += `, naive failed: ${naive.error}`;
          }
        }
        opts.progress(line);
      }
      if (overLimit) {
        const limitText = `exceeds maxStorageBufferBindingSize (logits ${logitsBytes} > ${maxBinding} bytes)`;
        try {
          const [nms, npk, nl] = await call(true, true);
          naive.samplesMs.push(nms);
          naivePeaks.push(npk);
          naive.loss = nl;
          naive.error = `${limitText}, yet one call ran (no warm-up)`;
        } catch (e) {
          naive.error = `${limitText}; the attempt failed with ${errorText(e)}`;
          z.grad?.dispose();
          z.grad = null;
        }
        opts.progress(`2N=${m}: naive: ${naive.error}`);
      }
      ours.ms = median(ours.samplesMs);
      ours.peakBytes = Math.max(...oursPeaks);
      if (naive.samplesMs.length) naive.ms = median(naive.samplesMs);
      if (naivePeaks.length) naive.peakBytes = Math.max(...naivePeaks);
      z.dispose();
      if (tside) tside.ms = median(tside.samplesMs);
      records.push({
        rows: m, d, temperature, logitsBytes, ours, naive, torch: tside,
        speedup: naive.ms !== null && ours.ms ? naive.ms / ours.ms : null,
        memoryRatio: naive.peakBytes !== null && ours.peakBytes ? naive.peakBytes / ours.peakBytes : null,
        oursOverTorch: tside && ours.ms ? ours.ms / tside.ms : null,
      });
    }
  } finally {
    tracker.restore();
  }
  return records;
}

const mb = (b: number | null) => (b === null ? '-' : (b / 2 ** 20).toFixed(2));

export function ntXentTable(records: readonly NtXentRecord[]): string[] {
  const lines = [`${'2N x d'.padEnd(12)}${'ours ms'.padStart(10)}${'naive ms'.padStart(10)}${'naive/ours'.padStart(11)}${'PyTorch ms'.padStart(12)}${'ours/PT'.padStart(9)}${'ours peak MiB'.padStart(15)}${'naive peak MiB'.padStart(16)}`];
  for (const r of records) {
    lines.push(`${`${r.rows}x${r.d}`.padEnd(12)}${(r.ours.ms?.toFixed(1) ?? '-').padStart(10)}${(r.naive.ms?.toFixed(1) ?? '-').padStart(10)}${(r.speedup !== null ? r.speedup.toFixed(2) + 'x' : '-').padStart(11)}` +
      `${(r.torch ? r.torch.ms.toFixed(1) : '-').padStart(12)}${(r.oursOverTorch !== null ? r.oursOverTorch.toFixed(2) + 'x' : '-').padStart(9)}${mb(r.ours.peakBytes).padStart(15)}${mb(r.naive.peakBytes).padStart(16)}`);
  }
  for (const r of records) {
    if (r.naive.error) lines.push(`  2N=${r.rows}: naive not run in full: ${r.naive.error}`);
    if (r.ours.loss !== null && r.naive.loss !== null) lines.push(`  2N=${r.rows}: loss ours ${r.ours.loss.toFixed(6)}, naive ${r.naive.loss.toFixed(6)}`);
  }
  return lines;
}
