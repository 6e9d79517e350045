/**
 * PyTorch as the reference on the same machine: a long-lived `/usr/bin/python3 bench/torch_ref.py`
 * process (one JSON command per line) so that the bench alternates PyTorch and the engine sample by
 * sample. `TorchRef.start()` returns null, with the reason, when that Python has no torch; sections
 * then say so and still report the engine's figures.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const TORCH_PYTHON = process.env.TORCH_PYTHON ?? '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../../bench/torch_ref.py', import.meta.url));

export interface TorchRun { ms: number; split?: Record<string, number> }

/**
 * PyTorch's BLAS and OpenMP workers keep spinning for about 100 ms after a call returns (measured
 * on the 2-core machine: after its NT-Xent at 2N = 512 the Python process burned 90 ms of CPU in
 * the next 100 ms, after a foreach SGD step none), on the cores our next call needs: our NT-Xent at
 * 512 took 17 ms right after a PyTorch call and 9 ms 100 ms later. So `run` returns once the
 * process has been quiet for QUIET_MS (at most MAX_SETTLE_MS; a fixed MAX_SETTLE_MS where
 * /proc/<pid>/task/<tid>/schedstat cannot be read). Idle cores slow the next short call down too
 * (our SGD step: 27 ms back to back, 34 ms after 150 ms asleep), so a workload whose calls take under
 * WARM_BELOW_MS is timed on its second consecutive call on both sides: PyTorch runs one untimed
 * call first, and the sections do the same for ours.
 */
export const QUIET_MS = 5, MAX_SETTLE_MS = 300, WARM_BELOW_MS = 250;
export const TORCH_PROTOCOL = `after each PyTorch call the bench waits until the Python process has used under 10 % of a core for ${QUIET_MS} ms (its BLAS/OpenMP workers spin for about 100 ms after a call, on the cores ours needs; at most ${MAX_SETTLE_MS} ms); workloads whose calls take under ${WARM_BELOW_MS} ms are timed on their second consecutive call on both sides (one untimed call right before each timed one); the thread count (1 or 2) is the one whose fastest call was faster, the two timed alternately after an untimed call each`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class TorchRef {
  private pending: ((line: string) => void)[] = [];
  /** The thread count in use (set by pickThreads). */
  threads = 1;
  /** The last timed call's ms since setup (decides the warm call). */
  private lastMs: number | null = null;

  version = '';
  /** Where the workloads run: 'cpu', or the CUDA device's name (TORCH_DEVICE=cuda, see torch_ref.py). */
  device = 'cpu';
  /** torch.__config__.show(): BLAS, oneDNN, CPU capability. */
  config = '';
  /** The BLAS library the process loaded (its matmul and linear layers; convolutions use oneDNN). */
  blas = '';
  /** Set when that BLAS is the reference implementation (netlib), which is far from the CPU's peak. */
  get blasWarning(): string {
    return this.device !== 'cpu' || this.blas === 'unknown' || /openblas|mkl|blis/i.test(this.blas) ? '' : `PyTorch's BLAS is ${this.blas} (not OpenBLAS, MKL or BLIS): its matmul and linear layers run far below the CPU's peak; install libopenblas0-pthread for a fair reference`;
  }

  private constructor(private readonly proc: ChildProcessWithoutNullStreams) {}

  /** Starts the reference process; null and a reason when there is no usable torch. */
  static async start(): Promise<{ torch: TorchRef | null; reason: string }> {
    if (!existsSync(TORCH_PYTHON)) return { torch: null, reason: `${TORCH_PYTHON} not found` };
    const proc = spawn(TORCH_PYTHON, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, OMP_NUM_THREADS: '2' } });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<string>((resolve) => proc.on('exit', (code) => resolve(`exited with code ${code}: ${stderr.trim().split('\n').slice(-1)[0] ?? ''}`)));
    const rl = createInterface({ input: proc.stdout });
    const t = new TorchRef(proc);
    rl.on('line', (line) => t.pending.shift()?.(line));
    const info = await Promise.race([t.raw({ op: 'info' }), exited.then((why) => ({ error: why }))]);
    if ('error' in info) { proc.kill(); return { torch: null, reason: `${TORCH_PYTHON} cannot run torch: ${String(info.error)}` }; }
    t.version = String(info.torch);
    t.config = String(info.config);
    t.blas = String(info.blas ?? 'unknown');
    t.device = String(info.device ?? 'cpu');
    if (t.blasWarning) process.stdout.write(`bench: ${t.blasWarning}\n`);
    return { torch: t, reason: '' };
  }

  private raw(cmd: object): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      this.pending.push((line) => resolve(JSON.parse(line) as Record<string, unknown>));
      this.proc.stdin.write(JSON.stringify(cmd) + '\n');
    });
  }

  private async call(cmd: object): Promise<Record<string, unknown>> {
    const r = await this.raw(cmd);
    if ('error' in r) throw new Error(`PyTorch reference (${JSON.stringify(cmd)}): ${String(r.error)}`);
    return r;
  }

  async setThreads(n: number): Promise<void> { await this.call({ op: 'threads', n }); this.threads = n; }

  /** Builds a workload (see torch_ref.py: step, supervised, ntxent, optim, matmul, run). */
  async setup(workload: string, opts: Record<string, unknown> = {}): Promise<void> {
    await this.call({ op: 'setup', workload, ...opts });
    this.lastMs = null;
  }

  /**
   * Times one call of the current workload (milliseconds, measured inside Python), after an
   * untimed one when the last call took under WARM_BELOW_MS; resolves once PyTorch's process is
   * quiet (TORCH_PROTOCOL).
   */
  async run(split = false): Promise<TorchRun> {
    const r = (await this.call({ op: 'run', split, warm: this.warmCalls })) as unknown as TorchRun;
    this.lastMs = r.ms;
    await this.settle();
    return r;
  }

  /** Whether timed calls follow an untimed one: the last call took under WARM_BELOW_MS (sections warm ours alike). */
  get warmCalls(): boolean { return this.lastMs !== null && this.lastMs < WARM_BELOW_MS; }

  /** CPU time of every thread of the Python process, in ns (null where /proc cannot tell). */
  private cpuNs(): number | null {
    try {
      const dir = `/proc/${this.proc.pid}/task`;
      let ns = 0;
      for (const t of readdirSync(dir)) ns += Number(readFileSync(`${dir}/${t}/schedstat`, 'utf8').split(' ')[0]);
      return Number.isFinite(ns) ? ns : null;
    } catch {
      return null;
    }
  }

  /** Resolves once the Python process is quiet (TORCH_PROTOCOL). */
  private async settle(): Promise<void> {
    const first = this.cpuNs();
    if (first === null) { await sleep(MAX_SETTLE_MS); return; }
    let prev: number = first;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < MAX_SETTLE_MS) {
      await sleep(QUIET_MS);
      const now: number = this.cpuNs() ?? prev, t1 = performance.now();
      if (now - prev < 0.1 * (t1 - t) * 1e6) return;
      prev = now;
      t = t1;
    }
  }

  /**
   * Times the current workload at 1 and 2 threads (one untimed call each, then `reps` calls each,
   * alternating) and keeps the setting whose fastest call was faster: the bench compares against
   * PyTorch at its best on this machine.
   */
  async pickThreads(reps = 2): Promise<{ threads: number; msByThreads: Record<number, number> }> {
    // One untimed call per setting, then the settings alternate and each keeps its fastest sample:
    // a stall (this machine's 2-thread runs pause under load) only ever slows a sample, and a single
    // stalled sample once picked 1 thread for a step that ran 1.8x faster on 2.
    const samples: Record<number, number[]> = { 1: [], 2: [] };
    for (const n of [1, 2]) { await this.setThreads(n); await this.run(); }
    for (let i = 0; i < reps; i++) {
      for (const n of [1, 2]) { await this.setThreads(n); samples[n].push((await this.run()).ms); }
    }
    const msByThreads: Record<number, number> = { 1: Math.min(...samples[1]), 2: Math.min(...samples[2]) };
    const threads = msByThreads[1] <= msByThreads[2] ? 1 : 2;
    await this.setThreads(threads);
    return { threads, msByThreads };
  }

  close(): void { this.proc.stdin.end(); this.proc.kill(); }
}
