/**
 * Waiting for GPU work without spinning a CPU core.
 *
 * Dawn's Node binding resolves promises by ticking the device from the event loop, so a plain
 * `await` keeps the JS thread polling flat out: on a 2-core machine running lavapipe, that thread
 * takes a core from the driver's worker threads. Instead we sleep in short slices (Atomics.wait)
 * between event-loop turns, growing the slice while the work is still running: this measured about
 * 2x faster on lavapipe. Browsers forbid blocking the main thread, so there we simply await.
 */
const cell = typeof SharedArrayBuffer === 'function' ? new Int32Array(new SharedArrayBuffer(4)) : null;
const canBlock = cell !== null && typeof process !== 'undefined' && process.versions?.node !== undefined;

export type WaitStrategy = 'sleep' | 'spin';

export interface WaitOptions {
  /** First sleep slice in ms; doubles up to maxSliceMs while the work is pending. */
  minSliceMs?: number;
  maxSliceMs?: number;
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export async function waitFor<T>(p: Promise<T>, strategy: WaitStrategy, opts: WaitOptions = {}): Promise<T> {
  if (strategy === 'spin' || !canBlock) return p;
  let settled = false;
  p.then(() => { settled = true; }, () => { settled = true; });
  let slice = opts.minSliceMs ?? 0.05;
  const max = opts.maxSliceMs ?? 2;
  await turn();
  while (!settled) {
    Atomics.wait(cell!, 0, 0, slice);
    await turn();
    slice = Math.min(slice * 2, max);
  }
  return p;
}
