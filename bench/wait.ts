/**
 * The engine's two ways of waiting for the device (engine/webgpu/wait.ts): 'sleep' (Atomics.wait
 * slices between event-loop turns) and 'spin' (a plain await). Measured on a loop of 1024^2
 * matmuls, both where every iteration waits (a training step that reads its loss) and where one
 * wait covers the whole loop; the two backends alternate per sample.
 */
import type { WaitStrategy } from '../engine/webgpu/wait.js';
import { gflops, log, median, timeCalls } from './common.js';
import { createBackend, oursMatmul } from './ours.js';

export interface WaitResult {
  mode: 'sync every matmul' | 'one sync per loop';
  size: number; iterations: number;
  sleep: { msPerMatmul: number; gflops: number };
  spin: { msPerMatmul: number; gflops: number };
  faster: WaitStrategy;
  /** spin time / sleep time (> 1: sleep is faster). */
  spinOverSleep: number;
}

export async function measureWait(size: number, iterations: number, samples: number): Promise<WaitResult[]> {
  const strategies: WaitStrategy[] = ['sleep', 'spin'];
  const backends = await Promise.all(strategies.map((wait) => createBackend({ wait })));
  const mms = backends.map((b) => oursMatmul(b, size, size, size));
  const flop = 2 * size ** 3;
  const results: WaitResult[] = [];
  for (const mode of ['sync every matmul', 'one sync per loop'] as const) {
    log(`wait strategy, ${mode}: ${iterations} matmuls ${size}^2 per sample, ${samples} samples, sleep and spin alternating`);
    const times: number[][] = [[], []];
    for (const mm of mms) { mm.run(); await mm.sync(); } // warm-up
    for (let s = 0; s < samples; s++) {
      for (let i = 0; i < mms.length; i++) {
        const mm = mms[i];
        times[i].push(await timeCalls(async () => {
          mm.run();
          if (mode === 'sync every matmul') await mm.sync();
        }, () => mm.sync(), iterations));
      }
      process.stdout.write('.');
    }
    process.stdout.write('\n');
    const [sl, sp] = times.map(median);
    const r: WaitResult = {
      mode, size, iterations,
      sleep: { msPerMatmul: sl, gflops: gflops(flop, sl) },
      spin: { msPerMatmul: sp, gflops: gflops(flop, sp) },
      faster: sl <= sp ? 'sleep' : 'spin',
      spinOverSleep: sp / sl,
    };
    log(`  sleep ${sl.toFixed(1)} ms/matmul (${r.sleep.gflops.toFixed(1)} GFLOP/s), spin ${sp.toFixed(1)} ms/matmul (${r.spin.gflops.toFixed(1)} GFLOP/s): ${r.faster} faster, spin/sleep = ${r.spinOverSleep.toFixed(2)}`);
    results.push(r);
  }
  mms.forEach((m) => m.dispose());
  backends.forEach((b) => b.destroy());
  return results;
}
