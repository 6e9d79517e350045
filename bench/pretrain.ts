/**
 * A whole SimCLR pre-training run against the same run in PyTorch (issue #14's wall-time target).
 * Ours is the library's `train()`, what `npm run pretrain` runs: the data read from the CIFAR files,
 * the seeded prefetching loader, two augmented views per image on the device, one read per step,
 * LARS with warm-up and cosine decay, checkpoints every 10 epochs and at the end, and the kNN
 * monitor after the last epoch only (`knnEvery` = epochs; its seconds are reported apart).
 * PyTorch's is torch_ref.py's `run` workload: the same files, a fresh permutation per epoch, full
 * batches only (as our loader), and per batch the step section's step (batched augmentation,
 * ResNet-18 + head, NT-Xent, backward, loss read, LARS at a constant learning rate); no
 * checkpoints, no kNN. The two alternate epoch by epoch: after each of our epochs (the awaited
 * `onEpochs` hook) PyTorch runs one, and its time is taken out of ours, so other load on the
 * machine hits both alike.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WebGpuBackend } from '../engine/webgpu/backend.js';
import { train } from '../simclr/train.js';
import { median } from './common.js';
import type { TorchRef } from './torch.js';

export interface PretrainRunOptions { data: string; epochs: number; width: number; batch: number; threads: number; progress: (s: string) => void }

export interface PretrainRunRecord {
  data: { dir: string; train: string[]; test: string | null };
  epochs: number; width: number; batch: number; stepsPerEpoch: number;
  ours: { totalSec: number; epochSec: number[]; knnSec: number; trainSec: number; medianEpochSec: number };
  torch: { totalSec: number; setupSec: number; epochSec: number[]; medianEpochSec: number; threads: number } | null;
  /** Our training time (kNN excluded) over PyTorch's total (setup included), above 1: slower. */
  oursOverTorch: number | null;
}

/** The CIFAR record files of a directory: data_batch* for training, test_batch* for the kNN monitor. */
export function cifarFiles(dir: string): { train: string[]; test: string | null } {
  const names = readdirSync(dir).filter((n) => /\.bin(\.gz)?$/.test(n)).sort();
  const test = names.find((n) => n.startsWith('test_batch'));
  return { train: names.filter((n) => n.startsWith('data_batch')).map((n) => join(dir, n)), test: test ? join(dir, test) : null };
}

export async function benchPretrainRun(backend: WebGpuBackend, torch: TorchRef | null, o: PretrainRunOptions): Promise<PretrainRunRecord> {
  const files = cifarFiles(o.data);
  if (files.train.length === 0) throw new Error(`bench pretrain: no data_batch*.bin(.gz) files in ${o.data}`);
  let torchSetupSec = 0;
  if (torch) {
    await torch.setThreads(o.threads);
    const t0 = performance.now();
    await torch.setup('run', { files: files.train, width: o.width, batch: o.batch });
    torchSetupSec = (performance.now() - t0) / 1000;
  }
  const out = mkdtempSync(join(tmpdir(), 'bench-pretrain-'));
  const oursSec: number[] = [], torchSec: number[] = [];
  let knnSec = 0, steps = 0;
  let mark = performance.now();
  try {
    const result = await train({
      method: 'simclr', data: files.train, testData: files.test, out, epochs: o.epochs, batchSize: o.batch, width: o.width,
      lr: 1.0, warmupEpochs: Math.min(2, o.epochs), knnEvery: o.epochs, evaluate: false, seed: 0,
    }, {
      backend,
      onEpoch(m) { knnSec += m.knnSec ?? 0; steps = m.step; },
      async onEpochs(history) {
        oursSec.push((performance.now() - mark) / 1000);
        const e = history.length;
        let line = `epoch ${e}/${o.epochs}: ours ${oursSec[e - 1].toFixed(1)} s`;
        if (torch) {
          torchSec.push((await torch.run()).ms / 1000);
          line += `, PyTorch ${torchSec[e - 1].toFixed(1)} s`;
        }
        o.progress(line);
        mark = performance.now();
      },
    });
    if (result.epochs !== o.epochs) throw new Error(`bench pretrain: the run stopped after ${result.epochs} of ${o.epochs} epochs`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  const total = oursSec.reduce((a, b) => a + b, 0);
  const oursSide = { totalSec: total, epochSec: oursSec, knnSec, trainSec: total - knnSec, medianEpochSec: median(oursSec) };
  const torchSide = torch ? {
    totalSec: torchSetupSec + torchSec.reduce((a, b) => a + b, 0), setupSec: torchSetupSec, epochSec: torchSec,
    medianEpochSec: median(torchSec), threads: o.threads,
  } : null;
  return {
    data: { dir: o.data, train: files.train, test: files.test },
    epochs: o.epochs, width: o.width, batch: o.batch, stepsPerEpoch: steps / o.epochs,
    ours: oursSide, torch: torchSide, oursOverTorch: torchSide ? oursSide.trainSec / torchSide.totalSec : null,
  };
}

export function pretrainTable(r: PretrainRunRecord): string[] {
  const t = r.torch;
  // whole seconds first, so 2219.6 s reads 37 min 0 s, not 36 min 60 s
  const fmt = (s: number) => (s >= 120 ? `${Math.floor(Math.round(s) / 60)} min ${Math.round(s) % 60} s` : `${s.toFixed(1)} s`);
  return [
    `SimCLR run: ResNet-18 x${r.width}, batch ${r.batch}, ${r.epochs} epochs of ${r.stepsPerEpoch} steps on ${r.data.train.length} files in ${r.data.dir}`,
    `  ours:    ${fmt(r.ours.trainSec)} training (median epoch ${r.ours.medianEpochSec.toFixed(1)} s, first ${r.ours.epochSec[0].toFixed(1)} s) + ${fmt(r.ours.knnSec)} kNN monitor after the last epoch`,
    t ? `  PyTorch: ${fmt(t.totalSec)} (setup ${t.setupSec.toFixed(1)} s, median epoch ${t.medianEpochSec.toFixed(1)} s, ${t.threads} threads)` : '  PyTorch: unavailable',
    r.oursOverTorch !== null ? `  ours / PyTorch: ${r.oursOverTorch.toFixed(2)}x (our training against PyTorch's whole run)` : '',
  ].filter((l) => l !== '');
}
