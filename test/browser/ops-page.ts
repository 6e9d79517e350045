/**
 * Bundled by test/browser.test.ts (esbuild, from the sources) and run in headless Chromium: every
 * op case of test/cases/ forward and backward on navigator.gpu, with the inputs and output-gradient
 * weights Node uses (test/cases/run.ts); then the matmul cases again under each matmul kernel the
 * device can run. The numbers go back to Node, which compares them with the CPU reference.
 */
// Through the public entry point, as users load it (it also installs the Tensor methods).
import {
  CPU_ADAPTER_KERNEL, CPU_SUBGROUP_KERNEL, GPU_KERNEL, WebGpuBackend, hasSubgroups8, setMatmulKernel, type MatmulKernel,
} from '../../engine/index.js';
import { WEBGPU_HELP } from '../../engine/webgpu/device.js';
import { allCases } from '../cases/index.js';
import { matmulCases } from '../cases/matmul.js';
import { caseValues, runCase } from '../cases/run.js';
import type { OpCase } from '../cases/types.js';

export interface BrowserCaseResult {
  name: string; out: number[]; shape: number[]; grads: (number[] | null)[]; error?: string;
  /** Ops that ran (the registry's counter). */
  ran: string[];
  /** Live buffers after the case minus before it. */
  leakedBuffers: number;
}
export interface OpsPageResult {
  adapter: string; isCpuAdapter: boolean; liveBuffers: number; seconds: number;
  cases: BrowserCaseResult[];
  /** The matmul cases under each kernel variant, by variant name. */
  kernels: Record<string, BrowserCaseResult[]>;
}

async function runAll(b: WebGpuBackend, cases: OpCase[]): Promise<BrowserCaseResult[]> {
  const out: BrowserCaseResult[] = [];
  for (const c of cases) {
    await b.sync();
    const before = b.memory().liveBuffers;
    try {
      const r = await runCase(c, b, caseValues(c));
      await b.sync();
      out.push({
        name: c.name, out: Array.from(r.out), shape: [...r.shape], grads: r.grads.map((g) => (g ? Array.from(g) : null)),
        ran: [...r.ran], leakedBuffers: b.memory().liveBuffers - before,
      });
    } catch (e) {
      out.push({ name: c.name, out: [], shape: [], grads: [], ran: [], leakedBuffers: 0, error: e instanceof Error ? `${e.message}\n${e.stack}` : String(e) });
    }
  }
  return out;
}

async function runOpCases(): Promise<OpsPageResult> {
  const t0 = performance.now();
  const b = await WebGpuBackend.create();
  if (!b) throw new Error(`no WebGPU adapter in this browser: ${WEBGPU_HELP}`);
  try {
    const cases = await runAll(b, allCases);
    const variants: [string, MatmulKernel][] = [['tiled', GPU_KERNEL], ['register', CPU_ADAPTER_KERNEL]];
    if (hasSubgroups8(b)) variants.push(['subgroup', CPU_SUBGROUP_KERNEL]);
    const kernels: Record<string, BrowserCaseResult[]> = {};
    for (const [name, k] of variants) {
      setMatmulKernel(k);
      try { kernels[name] = await runAll(b, matmulCases); } finally { setMatmulKernel(null); }
    }
    return { adapter: b.label, isCpuAdapter: b.isCpuAdapter, liveBuffers: b.memory().liveBuffers, cases, kernels, seconds: (performance.now() - t0) / 1000 };
  } finally {
    b.destroy();
  }
}

(globalThis as { runOpCases?: typeof runOpCases }).runOpCases = runOpCases;
