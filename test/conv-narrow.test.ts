/**
 * The narrow lavapipe conv tilings (1 or 2 columns per lane: 8 or 16 output channels per subgroup
 * tile, scalar accumulators) for the forward, input-gradient and weight-gradient GEMMs against the
 * CPU reference, and which tiling the device picks by the GEMM's column and row counts. Few shapes: every
 * (mode, tiling, kernel geometry) is a pipeline compiled cold on lavapipe.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CpuBackend } from '../engine/cpu/backend.js';
import { Random } from '../engine/random.js';
import { hasSubgroups8 } from '../engine/ops/matmul.js';
import { CPU_CONV_KERNEL, GPU_CONV_KERNEL, conv2d, conv2dBackwardInput, conv2dBackwardWeight, convKernelFor, setConvKernel, type Conv2dOptions, type ConvKernel } from '../engine/ops/conv.js';
import type { Backend } from '../engine/backend.js';
import { expectClose, gpu, makeValues, tensorOn } from './helpers.js';

// x [N,C,H,W], w [O,C,KH,KW], options: a 16-channel 3x3 layer, a strided stem-like conv into 8
// channels (input gradient through col2im, C <= 4), and a long split weight-gradient reduction
const SHAPES: [number[], number[], Conv2dOptions][] = [
  [[2, 16, 9, 9], [16, 16, 3, 3], { padding: 1 }],
  [[2, 3, 10, 11], [8, 3, 3, 3], { stride: 2, padding: 1 }],
  [[8, 4, 23, 23], [6, 4, 3, 3], { padding: 1 }],
];

afterEach(() => setConvKernel(null));

async function run(b: Backend, xs: number[], ws: number[], o: Conv2dOptions, vals: number[][]) {
  const x = tensorOn(b, vals[0], xs), w = tensorOn(b, vals[1], ws);
  const y = conv2d(x, w, null, o);
  const g = tensorOn(b, vals[2].slice(0, y.size), y.shape);
  const outs = [y, conv2dBackwardInput(g, w, [xs[2], xs[3]], o), conv2dBackwardWeight(x, g, [ws[2], ws[3]], o)];
  const data = await Promise.all(outs.map(async (t) => Float64Array.from(await t.data())));
  [x, w, g, ...outs].forEach((t) => t.dispose());
  return data;
}

describe('conv2d, narrow lavapipe tilings', () => {
  for (const tn of [1, 2]) {
    it(`tm 16 x tn ${tn}: forward, input and weight gradients match the CPU reference`, async (ctx) => {
      const g = await gpu();
      ctx.skip(!hasSubgroups8(g), `${g.label} has no 8-wide subgroups, so it cannot run the subgroup kernel`);
      const k: ConvKernel = { kind: 'subgroup', tm: 16, tn, wg: 64, sgn: 1 };
      const rng = new Random(5);
      for (const [xs, ws, o] of SHAPES) {
        const vals = [makeValues({ shape: xs }, rng), makeValues({ shape: ws }, rng), makeValues({ shape: [xs[0] * ws[0] * xs[2] * xs[3]] }, rng)];
        const ref = await run(new CpuBackend(), xs, ws, o, vals);
        setConvKernel(k);
        const got = await run(g, xs, ws, o, vals);
        setConvKernel(null);
        const K = Math.max(xs[1] * ws[2] * ws[3], xs[0] * xs[2] * xs[3], ws[0] * ws[2] * ws[3]);
        ['forward', 'input gradient', 'weight gradient'].forEach((what, i) => {
          try { expectClose(got[i], ref[i], { atol: 1e-5 * Math.sqrt(K), rtol: 1e-4 }); }
          catch (e) { throw new Error(`${what} x${JSON.stringify(xs)} w${JSON.stringify(ws)}: ${(e as Error).message}`); }
        });
      }
    });
  }

  it('the device picks 1 column per lane up to 8 output columns, 2 up to 16, else its wide tiling, and fits the rows', async () => {
    const g = await gpu();
    if (!(g.isCpuAdapter && hasSubgroups8(g))) {
      // a GPU (or a CPU adapter without 8-wide subgroups) takes the workgroup-tiled kernel at every size
      for (const [cols, rows] of [[8, Infinity], [16, 144], [64, 1152]]) expect(convKernelFor(g, cols, rows)).toEqual(GPU_CONV_KERNEL);
      return;
    }
    expect(convKernelFor(g, 8)).toEqual({ ...CPU_CONV_KERNEL, tn: 1 });
    expect(convKernelFor(g, 16)).toEqual({ ...CPU_CONV_KERNEL, tn: 2 });
    expect(convKernelFor(g, 17)).toEqual(CPU_CONV_KERNEL);
    // weight gradient of a 16-channel 3x3 conv: 144 rows fill three 48-row tiles exactly
    expect(convKernelFor(g, 16, 144)).toEqual({ ...CPU_CONV_KERNEL, tn: 2, wg: 24 });
    expect(convKernelFor(g, 64, 1152)).toEqual(CPU_CONV_KERNEL);
    setConvKernel({ kind: 'tiled' });
    expect(convKernelFor(g, 8)).toEqual({ kind: 'tiled' }); // a forced kernel is used as given
  });
});
