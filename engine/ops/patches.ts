/**
 * Patch extraction, CPC's grid of overlapping patches (PyTorch's F.unfold reshaped to patches):
 * `unfoldPatches(x, { size: p, stride: s })` cuts x [N, C, H, W] into the patches of a
 * gh x gw grid (gh = floor((H - p) / s) + 1, likewise gw) and returns them as images
 * [N * gh * gw, C, p, p], patch (n, gy, gx) at row (n * gh + gy) * gw + gx, so an encoder runs
 * on every patch at once. Its adjoint `foldPatches` sums patches back into [N, C, H, W]
 * (overlapping pixels add up, pixels no patch covers get 0). Each is the other's gradient, so both
 * are differentiable. Kernels: shaders/patches.wgsl (one output element per invocation; fold
 * gathers from the patches that cover its pixel, so no atomics).
 */
import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { grid, u32 } from '../webgpu/backend.js';
import { defineOp, requireF32, runOp, type OpDef } from './registry.js';

export interface PatchAttrs {
  readonly size: number;
  readonly stride: number;
  /** The image's height and width (fold needs them; unfold checks them). */
  readonly height: number;
  readonly width: number;
}

export interface PatchOptions { size: number; stride: number }

/** The patch grid of an H x W image: [gh, gw]. */
export function patchGrid(height: number, width: number, { size, stride }: PatchOptions): [number, number] {
  if (!(Number.isInteger(size) && size >= 1 && Number.isInteger(stride) && stride >= 1)) {
    throw new ArgumentError('unfoldPatches', `patch size and stride must be positive integers, got size ${size}, stride ${stride}`);
  }
  if (size > height || size > width) throw new ArgumentError('unfoldPatches', `patch size ${size} exceeds the image ${height}x${width}`);
  return [Math.floor((height - size) / stride) + 1, Math.floor((width - size) / stride) + 1];
}

function forEachPatchPixel(a: PatchAttrs, n: number, c: number, f: (patchIndex: number, imageIndex: number) => void): void {
  const [gh, gw] = patchGrid(a.height, a.width, a);
  const p = a.size;
  let t = 0;
  for (let b = 0; b < n; b++) for (let gy = 0; gy < gh; gy++) for (let gx = 0; gx < gw; gx++) {
    for (let ch = 0; ch < c; ch++) for (let py = 0; py < p; py++) for (let px = 0; px < p; px++) {
      f(t++, ((b * c + ch) * a.height + gy * a.stride + py) * a.width + gx * a.stride + px);
    }
  }
}

const params = (total: number, c: number, a: PatchAttrs) => {
  const [gh, gw] = patchGrid(a.height, a.width, a);
  return [u32(total), u32(c), u32(a.height), u32(a.width), u32(a.size), u32(a.stride), u32(gh), u32(gw)];
};

export const UnfoldPatchesOp: OpDef<PatchAttrs> = defineOp<PatchAttrs>({
  name: 'unfoldPatches',
  shape([x], a) {
    requireF32('unfoldPatches', x);
    if (x.shape.length !== 4) throw new ShapeError('unfoldPatches', `expected images [N, C, H, W], got ${fmtShape(x.shape)}`);
    const [n, c, h, w] = x.shape;
    if (h !== a.height || w !== a.width) throw new ShapeError('unfoldPatches', `attributes say ${a.height}x${a.width}, input is ${fmtShape(x.shape)}`);
    const [gh, gw] = patchGrid(h, w, a);
    return { shape: [n * gh * gw, c, a.size, a.size], dtype: 'f32' };
  },
  cpu(_b, [x], a, out) {
    const y = new Float64Array(sizeOf(out.shape));
    forEachPatchPixel(a, x.shape[0], x.shape[1], (t, i) => { y[t] = x.data[i]; });
    return y;
  },
  webgpu(gpu, [x], a, out) {
    const total = sizeOf(out.shape);
    const y = gpu.alloc(total);
    gpu.run({ shader: 'patches', entry: 'unfold', inputs: [x.storage], outputs: [y], params: params(total, x.shape[1], a), workgroups: grid(Math.ceil(total / 256)) });
    return y;
  },
  backward(g, ctx) { return [runOp(FoldPatchesOp, [g], ctx.attrs)]; },
});

export const FoldPatchesOp: OpDef<PatchAttrs> = defineOp<PatchAttrs>({
  name: 'foldPatches',
  shape([g], a) {
    requireF32('foldPatches', g);
    const [gh, gw] = patchGrid(a.height, a.width, a);
    const per = gh * gw;
    if (g.shape.length !== 4 || g.shape[0] % per !== 0 || g.shape[2] !== a.size || g.shape[3] !== a.size) {
      throw new ShapeError('foldPatches', `expected patches [N * ${per}, C, ${a.size}, ${a.size}] of a ${gh}x${gw} grid, got ${fmtShape(g.shape)}`);
    }
    return { shape: [g.shape[0] / per, g.shape[1], a.height, a.width], dtype: 'f32' };
  },
  cpu(_b, [g], a, out) {
    const x = new Float64Array(sizeOf(out.shape));
    forEachPatchPixel(a, out.shape[0], out.shape[1], (t, i) => { x[i] += g.data[t]; });
    return x;
  },
  webgpu(gpu, [g], a, out) {
    const total = sizeOf(out.shape);
    const x = gpu.alloc(total);
    gpu.run({ shader: 'patches', entry: 'fold', inputs: [g.storage], outputs: [x], params: params(total, g.shape[1], a), workgroups: grid(Math.ceil(total / 256)) });
    return x;
  },
  backward(g, ctx) { return [runOp(UnfoldPatchesOp, [g], ctx.attrs)]; },
});

/** x [N, C, H, W] -> the patches of its grid [N * gh * gw, C, size, size] (row-major over the grid). */
export function unfoldPatches(x: Tensor, opts: PatchOptions): Tensor {
  if (x.rank !== 4) throw new ShapeError('unfoldPatches', `expected images [N, C, H, W], got ${fmtShape(x.shape)}`);
  return runOp(UnfoldPatchesOp, [x], { size: opts.size, stride: opts.stride, height: x.shape[2], width: x.shape[3] });
}

/** The adjoint of unfoldPatches: patches [N * gh * gw, C, size, size] summed back into [N, C, height, width]. */
export function foldPatches(patches: Tensor, opts: PatchOptions & { height: number; width: number }): Tensor {
  return runOp(FoldPatchesOp, [patches], { size: opts.size, stride: opts.stride, height: opts.height, width: opts.width });
}
