/**
 * Kernel profiler for the WebGPU backend: time per kernel group (op name and input shapes), dispatch
 * and submit counts, and bytes bound per dispatch (inputs + outputs, the traffic a kernel cannot
 * avoid), so "where does the step's time go" is one call instead of hand-timed experiments.
 *
 * Two methods, chosen when profiling starts:
 * - 'timestamp' (adapters with the `timestamp-query` feature, lavapipe included): every dispatch
 *   gets its own compute pass with begin/end timestamps, resolved once at the end. Measures kernel
 *   execution only; the per-dispatch cost outside the kernels (validation, command recording,
 *   ~40 us each on lavapipe) shows as the gap between wall time and the kernel sum.
 * - 'replay' (no timestamps): dispatches are recorded (pipeline, bind group, grid) and, when
 *   profiling stops, each group is replayed on its own in one submit and timed by the wall clock
 *   around a wait for the queue; an empty submit's latency is subtracted. Includes each dispatch's
 *   fixed cost; results of the replay are discarded (kernels only overwrite their outputs).
 *
 * Labels: ops run through the registry label their dispatches `op [shape] [shape]`; other dispatches
 * (augmentations, fused optimizer updates) carry their shader name. `phase` tags dispatches with a
 * caller-chosen name (bench: forward, backward, ...) for a per-phase sum.
 */
import { fmtShape } from '../errors.js';

export type ProfileMethod = 'timestamp' | 'replay';

export interface ProfileGroup {
  /** `op [shape] [shape]` (or the shader name for dispatches outside ops). */
  key: string;
  /** Op (or shader) name alone. */
  op: string;
  dispatches: number;
  ms: number;
  /** Bytes bound by the group's dispatches (inputs + outputs), summed. */
  bytes: number;
}

export interface ProfileReport {
  method: ProfileMethod;
  dispatches: number;
  submits: number;
  /** Buffer copies recorded (reads, copies between buffers); not timed. */
  copies: number;
  /** Wall-clock time between start and stop (with profiling overhead). */
  wallMs: number;
  /** Sum of all groups' times. */
  kernelMs: number;
  /** Per op and shapes, slowest first. */
  groups: ProfileGroup[];
  /** Per op (shapes merged), slowest first. */
  ops: ProfileGroup[];
  /** Per op and shader (`op > shader`: which kernel inside an op), slowest first. */
  kernels: ProfileGroup[];
  /** Per caller-set phase (dispatches outside any phase under ''), in first-seen order. */
  phases: ProfileGroup[];
}

/** What the backend hands the profiler for each dispatch. */
export interface DispatchRecord {
  shader: string;
  bytes: number;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  workgroups: readonly [number, number, number];
}

interface Entry { key: string; op: string; shader: string; phase: string; bytes: number; query: number; replay: DispatchRecord | null }

const QUERIES_PER_SET = 4096;

export class Profiler {
  /** Phase tag for the dispatches that follow (null: none). */
  phase: string | null = null;
  private label: { key: string; op: string } | null = null;
  private depth = 0;
  private readonly entries: Entry[] = [];
  private readonly sets: GPUQuerySet[] = [];
  private readonly resolved: GPUBuffer[] = [];
  private readonly staging: GPUBuffer[] = [];
  private readonly t0 = performance.now();
  submits = 0;
  copies = 0;

  constructor(private readonly device: GPUDevice, readonly method: ProfileMethod) {}

  /** Labels the dispatches of one op run (registry); nested runs keep the outer label. */
  enter(op: string, shapes: readonly (readonly number[])[]): void {
    if (this.depth++ === 0) this.label = { key: `${op} ${shapes.map(fmtShape).join(' ')}`, op };
  }

  leave(): void {
    if (--this.depth === 0) this.label = null;
  }

  /**
   * Records one dispatch. In timestamp mode returns the pass's timestampWrites (the caller records
   * the dispatch in a pass of its own); in replay mode null.
   */
  dispatch(d: DispatchRecord): GPUComputePassTimestampWrites | null {
    const key = this.label?.key ?? d.shader;
    const op = this.label?.op ?? d.shader;
    const n = this.entries.length;
    this.entries.push({ key, op, shader: d.shader, phase: this.phase ?? '', bytes: d.bytes, query: n, replay: this.method === 'replay' ? d : null });
    if (this.method === 'replay') return null;
    const set = Math.floor(n / (QUERIES_PER_SET / 2));
    if (set === this.sets.length) this.sets.push(this.device.createQuerySet({ type: 'timestamp', count: QUERIES_PER_SET }));
    const i = (n % (QUERIES_PER_SET / 2)) * 2;
    return { querySet: this.sets[set], beginningOfPassWriteIndex: i, endOfPassWriteIndex: i + 1 };
  }

  /** Records the resolve of every query set into mappable buffers (once, when profiling stops). */
  resolve(encoder: GPUCommandEncoder): void {
    if (this.method !== 'timestamp') return;
    const per = QUERIES_PER_SET / 2;
    this.sets.forEach((set, s) => {
      const count = Math.min(per, this.entries.length - s * per) * 2;
      const staging = this.device.createBuffer({ size: count * 8, usage: 0x200 /* QUERY_RESOLVE */ | 0x4 /* COPY_SRC */ });
      const read = this.device.createBuffer({ size: count * 8, usage: 0x1 /* MAP_READ */ | 0x8 /* COPY_DST */ });
      encoder.resolveQuerySet(set, 0, count, staging, 0);
      encoder.copyBufferToBuffer(staging, 0, read, 0, count * 8);
      this.staging.push(staging);
      this.resolved.push(read);
    });
  }

  /** Times every dispatch and builds the report (after the backend flushed and synced). */
  async report(wait: (p: Promise<unknown>) => Promise<void>): Promise<ProfileReport> {
    const wallMs = performance.now() - this.t0;
    const ms = new Float64Array(this.entries.length);
    if (this.method === 'timestamp') {
      const per = QUERIES_PER_SET / 2;
      for (let s = 0; s < this.resolved.length; s++) {
        const buf = this.resolved[s];
        await wait(buf.mapAsync(0x1));
        const t = new BigInt64Array(buf.getMappedRange().slice(0));
        buf.unmap();
        buf.destroy();
        for (let i = 0; i < per && s * per + i < this.entries.length; i++) {
          ms[s * per + i] = Math.max(0, Number(t[2 * i + 1] - t[2 * i]) / 1e6);
        }
      }
      for (const b of [...this.sets, ...this.staging]) b.destroy();
    } else {
      await this.replay(ms, wait);
    }
    const groups = aggregate(this.entries, ms, (e) => e.key);
    const ops = aggregate(this.entries, ms, (e) => e.op);
    const kernels = aggregate(this.entries, ms, (e) => (e.op === e.shader ? e.op : `${e.op} > ${e.shader}`));
    const phases = aggregate(this.entries, ms, (e) => e.phase, false);
    return {
      method: this.method, dispatches: this.entries.length, submits: this.submits, copies: this.copies,
      wallMs, kernelMs: ms.reduce((a, b) => a + b, 0), groups, ops, kernels, phases,
    };
  }

  /** Replays each group's dispatches in one submit; its time, less an empty submit's, is split evenly over them. */
  private async replay(ms: Float64Array, wait: (p: Promise<unknown>) => Promise<void>): Promise<void> {
    const byKey = new Map<string, number[]>();
    this.entries.forEach((e, i) => { let l = byKey.get(e.key); if (!l) byKey.set(e.key, (l = [])); l.push(i); });
    const timeSubmit = async (idx: readonly number[]) => {
      const enc = this.device.createCommandEncoder();
      const pass = enc.beginComputePass();
      for (const i of idx) {
        const r = this.entries[i].replay!;
        pass.setPipeline(r.pipeline);
        pass.setBindGroup(0, r.bindGroup);
        pass.dispatchWorkgroups(...r.workgroups);
      }
      pass.end();
      const t0 = performance.now();
      this.device.queue.submit([enc.finish()]);
      await wait(this.device.queue.onSubmittedWorkDone());
      return performance.now() - t0;
    };
    const empty = Math.min(await timeSubmit([]), await timeSubmit([]), await timeSubmit([]));
    for (const idx of byKey.values()) {
      const t = Math.max(0, Math.min(await timeSubmit(idx), await timeSubmit(idx)) - empty);
      for (const i of idx) ms[i] = t / idx.length;
    }
  }
}

function aggregate(entries: readonly Entry[], ms: Float64Array, keyOf: (e: Entry) => string, sort = true): ProfileGroup[] {
  const m = new Map<string, ProfileGroup>();
  entries.forEach((e, i) => {
    const key = keyOf(e);
    let g = m.get(key);
    if (!g) m.set(key, (g = { key, op: e.op, dispatches: 0, ms: 0, bytes: 0 }));
    g.dispatches++;
    g.ms += ms[i];
    g.bytes += e.bytes;
  });
  const out = [...m.values()];
  return sort ? out.sort((a, b) => b.ms - a.ms) : out;
}

/** The report as text: totals, phases, the top groups and ops with their share of kernel time. */
export function formatProfile(r: ProfileReport, top = 15): string[] {
  const pct = (x: number) => (r.kernelMs > 0 ? (100 * x) / r.kernelMs : 0).toFixed(1).padStart(5) + ' %';
  const row = (g: ProfileGroup) =>
    `${g.ms.toFixed(2).padStart(10)} ms ${pct(g.ms)} ${String(g.dispatches).padStart(6)} ${(g.bytes / 2 ** 20).toFixed(1).padStart(9)}  ${g.key}`;
  const head = `${'time'.padStart(13)} ${'share'.padStart(7)} ${'disp.'.padStart(6)} ${'MiB'.padStart(9)}  kernel group`;
  const lines = [
    `profile (${r.method === 'timestamp' ? 'GPU timestamps per dispatch' : 'sync-and-replay per group'}): ${r.dispatches} dispatches, ` +
      `${r.submits} submits, ${r.copies} copies; kernels ${r.kernelMs.toFixed(1)} ms of ${r.wallMs.toFixed(1)} ms wall`,
  ];
  if (r.phases.length > 1 || (r.phases.length === 1 && r.phases[0].key !== '')) {
    lines.push('by phase:', head, ...r.phases.map((g) => row({ ...g, key: g.key || '(no phase)' })));
  }
  lines.push(`top ${Math.min(top, r.ops.length)} ops:`, head, ...r.ops.slice(0, top).map(row));
  lines.push(`top ${Math.min(top, r.kernels.length)} kernels (op > shader):`, head, ...r.kernels.slice(0, top).map(row));
  lines.push(`top ${Math.min(top, r.groups.length)} op x shape groups:`, head, ...r.groups.slice(0, top).map(row));
  return lines;
}
