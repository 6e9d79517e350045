/**
 * SimCLR's learning-rate schedule (google-research/simclr, tf2/model.py WarmUpAndCosineDecay):
 *
 *   scaled  = base * B / 256          (learningRateScaling 'linear'; SimCLR's base 0.3)
 *           = base * sqrt(B)          ('sqrt'; SimCLR suggests base 0.075)
 *   warmup  = floor(warmupEpochs * numExamples / B)                 (int(round(x // B)))
 *   total   = trainSteps ?? floor(numExamples * trainEpochs / B) + 1
 *   lr(s)   = s / warmup * scaled                                   for s < warmup
 *           = scaled * 0.5 * (1 + cos(pi * min(s - warmup, D) / D)) otherwise, D = total - warmup
 *
 * `step` counts optimizer updates from 0 (the first update runs with lr 0 when there is warm-up,
 * as in the official code, whose step is the optimizer's iteration counter). Pure functions.
 */
import { ArgumentError } from '../engine/errors.js';

export type LearningRateScaling = 'linear' | 'sqrt';

export interface WarmupCosineOptions {
  /** Base learning rate before batch-size scaling; default 0.3 (SimCLR's default). */
  baseLr?: number;
  /** Global batch size B. */
  batchSize: number;
  /** Training examples per epoch. */
  numExamples: number;
  /** Warm-up length in epochs (default 10), turned into steps as the official code does. */
  warmupEpochs?: number;
  /** Total epochs (used when trainSteps is not given). */
  trainEpochs?: number;
  /** Total steps; overrides trainEpochs, as the official train_steps flag. */
  trainSteps?: number;
  /** Default 'linear'. */
  learningRateScaling?: LearningRateScaling;
}

/** base * B / 256 ('linear') or base * sqrt(B) ('sqrt'). */
export function scaledLearningRate(baseLr: number, batchSize: number, scaling: LearningRateScaling = 'linear'): number {
  if (scaling === 'linear') return baseLr * batchSize / 256;
  if (scaling === 'sqrt') return baseLr * Math.sqrt(batchSize);
  throw new ArgumentError('schedule', `unknown learning rate scaling '${String(scaling)}' (expected 'linear' or 'sqrt')`);
}

function check(o: WarmupCosineOptions): void {
  const posInt = (n: string, v: number) => {
    if (!(Number.isInteger(v) && v > 0)) throw new ArgumentError('schedule', `${n} must be a positive integer, got ${v}`);
  };
  posInt('batchSize', o.batchSize);
  posInt('numExamples', o.numExamples);
  if (o.trainSteps !== undefined) posInt('trainSteps', o.trainSteps);
  else if (o.trainEpochs === undefined || !(o.trainEpochs > 0)) throw new ArgumentError('schedule', `trainEpochs (> 0) or trainSteps is required, got ${o.trainEpochs}`);
  if (o.warmupEpochs !== undefined && !(o.warmupEpochs >= 0)) throw new ArgumentError('schedule', `warmupEpochs must be >= 0, got ${o.warmupEpochs}`);
  if (o.baseLr !== undefined && !(o.baseLr >= 0)) throw new ArgumentError('schedule', `baseLr must be >= 0, got ${o.baseLr}`);
}

/** Warm-up steps: int(round(warmupEpochs * numExamples // batchSize)). */
export function warmupSteps(o: WarmupCosineOptions): number {
  check(o);
  return Math.round(Math.floor((o.warmupEpochs ?? 10) * o.numExamples / o.batchSize));
}

/** Total steps: trainSteps, or numExamples * trainEpochs // batchSize + 1. */
export function totalSteps(o: WarmupCosineOptions): number {
  check(o);
  return o.trainSteps ?? Math.floor(o.numExamples * o.trainEpochs! / o.batchSize) + 1;
}

/** The learning rate for optimizer update `step` (0-based). */
export function warmupCosineLr(step: number, o: WarmupCosineOptions): number {
  if (!(Number.isInteger(step) && step >= 0)) throw new ArgumentError('schedule', `step must be an integer >= 0, got ${step}`);
  const scaled = scaledLearningRate(o.baseLr ?? 0.3, o.batchSize, o.learningRateScaling ?? 'linear');
  const warm = warmupSteps(o);
  const total = totalSteps(o);
  if (step < warm) return (step / warm) * scaled;
  const decay = total - warm;
  if (decay <= 0) return 0; // the official code would divide by zero here; no steps remain to decay over
  const s = Math.min(step - warm, decay);
  return scaled * 0.5 * (1 + Math.cos(Math.PI * s / decay));
}

/** warmupCosineLr bound to its options: `const lrAt = warmupCosine(opts); opt.lr = lrAt(step)`. */
export function warmupCosine(o: WarmupCosineOptions): (step: number) => number {
  check(o);
  return (step) => warmupCosineLr(step, o);
}
