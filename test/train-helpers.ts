/**
 * What the training-loop tests of every method share (methods-train, feature-methods-train): a run
 * through train() that must not leak GPU buffers, and the bit-exact resume check.
 */
import { expect } from 'vitest';
import type { WebGpuBackend } from '../engine/webgpu/backend.js';
import { train, type TrainOptions, type TrainResult } from '../simclr/train.js';
import { checkpointTensors } from './helpers.js';

/**
 * train(opts) on `backend`, expecting 8 steps with finite losses, live GPU buffers flat from step to
 * step (kNN epochs included) and back to the start (count and bytes) once train returns.
 */
export async function trainWithoutLeaks(opts: TrainOptions, backend: WebGpuBackend): Promise<TrainResult> {
  await backend.sync();
  const start = backend.memory();
  const live: number[] = [];
  const r = await train(opts, { backend, onStep: () => live.push(backend.memory().liveBuffers) });
  expect(r.steps).toBe(8);
  expect(new Set(live.slice(1))).toEqual(new Set([live[1]]));
  await backend.sync();
  expect(backend.memory().liveBuffers).toBe(start.liveBuffers);
  expect(backend.memory().liveBytes).toBe(start.liveBytes);
  expect(r.losses.every(Number.isFinite)).toBe(true);
  return r;
}

/** Interrupts options(out) after 3 steps, resumes it, and expects the uninterrupted run's losses and final checkpoint bit for bit. */
export async function expectResumeBitExact(options: (over?: Partial<TrainOptions>) => TrainOptions, full: { losses: number[]; checkpoint: string }, backend: WebGpuBackend): Promise<void> {
  let k = 0;
  const a = await train(options(), { backend, shouldStop: () => ++k >= 3 });
  expect(a.interrupted).toBe(true);
  const b = await train(options({ resume: true }), { backend });
  expect([...a.losses, ...b.losses]).toEqual(full.losses);
  const [x, y] = [await checkpointTensors(b.lastCheckpoint!), await checkpointTensors(full.checkpoint)];
  expect([...x.keys()].sort()).toEqual([...y.keys()].sort());
  for (const [name, v] of x) expect(v, name).toEqual(y.get(name));
}
