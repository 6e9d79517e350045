/**
 * The trainer's speed options: `knnEvery` runs the kNN monitor every N epochs and after the last
 * (its seconds in each epoch record that has it), and `profile` runs the second step under the
 * kernel profiler, logging a 'profile' record whose dispatch count matches the backend's and whose
 * groups name the step's ops; both flags parse from the command line.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TRAIN_CONFIG, train } from '../simclr/train.js';
import { parseArgs } from '../simclr/pretrain-cli.js';
import type { ProfileReport } from '../engine/webgpu/profiler.js';
import { cifarRecords, gpu } from './helpers.js';

let root = '', trainFile = '', testFile = '';
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'train-monitor-'));
  trainFile = join(root, 'train.bin');
  testFile = join(root, 'test.bin');
  await writeFile(trainFile, cifarRecords(32, 1));
  await writeFile(testFile, cifarRecords(16, 2));
});
afterAll(async () => { if (root) await rm(root, { recursive: true, force: true }); });

describe('trainer: kNN every N epochs, profile', () => {
  it('kNN after epochs 2 and 3 of 3 with knnEvery 2, timed; the second step profiled', async () => {
    const backend = await gpu();
    const out = join(root, 'run');
    const reports: ProfileReport[] = [];
    let dispatches = 0, d0 = 0;
    const r = await train({
      ...DEFAULT_TRAIN_CONFIG, data: [trainFile], testData: testFile, out,
      epochs: 3, batchSize: 16, width: 1 / 16, warmupEpochs: 1, checkpointEvery: 3, seed: 2, knnEvery: 2, profile: true,
    }, {
      backend,
      onStep: (m) => { if (m.step === 0) d0 = backend.dispatchCount; if (m.step === 1) dispatches = backend.dispatchCount - d0; },
      onProfile: (p) => reports.push(p),
    });
    expect(r.steps).toBe(6);
    const lines = (await readFile(join(out, 'log.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const ep = lines.filter((l) => l.type === 'epoch');
    expect(ep.map((e) => e.knnTop1 === null)).toEqual([true, false, false]);
    expect(ep.map((e) => e.knnSec === null)).toEqual([true, false, false]);
    for (const e of ep.slice(1)) expect(e.knnSec as number).toBeGreaterThan(0);
    const prof = lines.filter((l) => l.type === 'profile');
    expect(prof).toHaveLength(1);
    expect(prof[0].step).toBe(1);
    expect(reports).toHaveLength(1);
    // every dispatch of step 1 (between the onStep calls of steps 0 and 1) was profiled
    expect(reports[0].dispatches).toBe(dispatches);
    expect(reports[0].phases.map((p) => p.key)).toEqual(['augment', 'loss, backward, read, optimizer']);
    const ops = reports[0].ops.map((o) => o.op);
    for (const op of ['conv2d', 'conv2dBackwardWeight', 'ntXentRows', 'larsUpdate']) expect(ops).toContain(op);
  });

  it('--knn-every and --profile parse; --knn-every 0 is refused', () => {
    const a = parseArgs(['--data', trainFile, '--out', 'x', '--knn-every', '5', '--profile']);
    expect(a?.knnEvery).toBe(5);
    expect(a?.profile).toBe(true);
    expect(() => parseArgs(['--data', trainFile, '--out', 'x', '--knn-every', '0'])).toThrow(/knn-every/);
  });
});
