/**
 * PyTorch as the reference on the same machine: a long-lived `/usr/bin/python3 bench/torch_ref.py`
 * process (one JSON command per line) so that the bench alternates PyTorch and the engine sample by
 * sample. `TorchRef.start()` returns null, with the reason, when that Python has no torch; sections
 * then say so and still report the engine's figures.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { median } from './common.js';

export const TORCH_PYTHON = process.env.TORCH_PYTHON ?? '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../../bench/torch_ref.py', import.meta.url));

export interface TorchRun { ms: number; split?: Record<string, number> }

export class TorchRef {
  private pending: ((line: string) => void)[] = [];
  /** The thread count in use (set by pickThreads). */
  threads = 1;

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
  async setup(workload: string, opts: Record<string, unknown> = {}): Promise<void> { await this.call({ op: 'setup', workload, ...opts }); }

  /** Times one call of the current workload (milliseconds, measured inside Python). */
  async run(split = false): Promise<TorchRun> { return (await this.call({ op: 'run', split })) as unknown as TorchRun; }

  /**
   * Times the current workload at 1 and 2 threads (after one warm-up call each, `reps` calls) and
   * keeps the faster setting: the bench compares against PyTorch at its best on this machine.
   */
  async pickThreads(reps = 2): Promise<{ threads: number; msByThreads: Record<number, number> }> {
    const msByThreads: Record<number, number> = {};
    for (const n of [1, 2]) {
      await this.setThreads(n);
      await this.run();
      const xs: number[] = [];
      for (let i = 0; i < reps; i++) xs.push((await this.run()).ms);
      msByThreads[n] = median(xs);
    }
    const threads = msByThreads[1] <= msByThreads[2] ? 1 : 2;
    await this.setThreads(threads);
    return { threads, msByThreads };
  }

  close(): void { this.proc.stdin.end(); this.proc.kill(); }
}
