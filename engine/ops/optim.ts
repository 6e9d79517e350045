/**
 * Fused optimizer updates: one primitive per rule that turns a parameter, its gradient and its
 * state into the new parameter and state in one pass (shaders/optim_*.wgsl), instead of a dispatch
 * per elementwise op (about 11 per tensor for LARS). Not differentiable; the optimizers (nn/optim.ts,
 * nn/lars.ts) and the moving average (nn/ema.ts) call them per parameter tensor, and once over the
 * concatenation of all small ones (nn/packed-update.ts).
 *
 * - `sgdUpdate` (PyTorch's SGD): d = g + wd w; v' = m v + d (d on the first step);
 *   w' = w - lr (Nesterov: d + m v', else v'). Without momentum: w' = w - lr d, no state.
 * - `larsUpdate` (SimCLR's LARS, classic momentum): g' = g + wd w and trust = eta ||w|| / ||g'||
 *   (1 when a norm is 0) unless excluded (then g' = g, trust 1); v' = m v + lr trust g';
 *   w' = w - v' (Nesterov: w - (m v' + lr trust g')). The norms and the trust ratio are computed
 *   on the device (two small dispatches), so nothing is read back.
 * - `adamUpdate` (PyTorch's Adam / AdamW): see shaders/optim_adam.wgsl; t is the step count after
 *   this step, a 1-element device tensor.
 * - `emaUpdate`: target' = m target + (1 - m) online (MoCo's key encoder, BYOL's target).
 *
 * Why not one dispatch for all parameters: WebGPU binds at most 8 storage buffers per stage by
 * default, so a multi-tensor kernel would need the parameters (and gradients and state) packed into
 * arenas, which every other op would then have to address at an offset; copying them in and out
 * (what the packing does for small tensors) would cost more than the dispatches it saves for large
 * ones, whose time is their memory traffic (ARCHITECTURE.md, optimizers).
 */
import { ArgumentError, DTypeError, ShapeError, fmtShape } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { f32, grid, u32, vec4Grid, type GpuStorage, type WebGpuBackend } from '../webgpu/backend.js';
import { defineOp, runOpAux, type TensorMeta } from './registry.js';

/** vec4s per invocation (the E of the shaders) and workgroup size of the update kernels. */
const E = 4, WG = 256;

function sameShape(op: string, what: readonly string[], ts: readonly TensorMeta[]): void {
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i];
    if (t.dtype !== 'f32') throw new DTypeError(op, `${what[i]} must be f32, got ${t.dtype} ${fmtShape(t.shape)}`, t.dtype);
    if (i > 0 && (t.shape.length !== ts[0].shape.length || t.shape.some((d, k) => d !== ts[0].shape[k]))) {
      throw new ShapeError(op, `${what[i]} ${fmtShape(t.shape)} does not match ${what[0]} ${fmtShape(ts[0].shape)}`);
    }
  }
}

// ---- SGD and LARS ------------------------------------------------------------------------------

/** Param, grad and (after the first step) the momentum buffer, all of one shape: the output's meta. */
function momentumInputs(op: string, inputs: readonly TensorMeta[], hasBuffer: boolean): TensorMeta {
  if (inputs.length !== (hasBuffer ? 3 : 2)) throw new ArgumentError(op, `expected ${hasBuffer ? 3 : 2} inputs, got ${inputs.length}`);
  sameShape(op, ['param', 'grad', 'momentum buffer'], inputs);
  return inputs[0];
}

export interface SgdAttrs { readonly lr: number; readonly momentum: number; readonly weightDecay: number; readonly nesterov: boolean; readonly hasBuffer: boolean }

export const SgdUpdateOp = defineOp<SgdAttrs>({
  name: 'sgdUpdate',
  shape(inputs, a) { return momentumInputs('sgdUpdate', inputs, a.hasBuffer); },
  aux(inputs, a) { return a.momentum > 0 ? [inputs[0]] : []; },
  cpu(_b, [w, g, v], a) {
    const n = w.data.length;
    const out = new Float64Array(n), buf = new Float64Array(a.momentum > 0 ? n : 0);
    for (let i = 0; i < n; i++) {
      const d = g.data[i] + a.weightDecay * w.data[i];
      if (a.momentum > 0) {
        buf[i] = v ? a.momentum * v.data[i] + d : d;
        out[i] = w.data[i] - a.lr * (a.nesterov ? d + a.momentum * buf[i] : buf[i]);
      } else out[i] = w.data[i] - a.lr * d;
    }
    return { out, aux: a.momentum > 0 ? [buf] : [] };
  },
  webgpu(gpu, [w, g, v], a) {
    const n = w.size;
    const wOut = gpu.alloc(n);
    if (a.momentum === 0) {
      const { T, workgroups } = vec4Grid('sgdUpdate', n, E, WG, [w.storage, g.storage, wOut]);
      gpu.run({
        shader: 'optim_sgd', entry: 'plain', constants: { E }, inputs: [w.storage, g.storage], outputs: [wOut],
        params: [u32(n), u32(T), f32(a.lr), f32(1), f32(0), f32(a.weightDecay), u32(0), u32(0)], workgroups,
      });
      return { out: wOut, aux: [] };
    }
    const vOut = gpu.alloc(n);
    momentumGpu(gpu, w.storage, g.storage, v?.storage ?? null, null, wOut, vOut, n,
      { lrOut: a.lr, c: 1, m: a.momentum, wd: a.weightDecay, nesterov: a.nesterov });
    return { out: wOut, aux: [vOut] };
  },
});

function momentumGpu(gpu: WebGpuBackend, w: GpuStorage, g: GpuStorage, v: GpuStorage | null, scale: GpuStorage | null,
  wOut: GpuStorage, vOut: GpuStorage, n: number, o: { lrOut: number; c: number; m: number; wd: number; nesterov: boolean }): void {
  const { T, workgroups } = vec4Grid('momentum update', n, E, WG, [w, g, wOut, vOut, ...(v ? [v] : [])]);
  gpu.run({
    shader: 'optim_sgd', entry: 'momentum',
    constants: { E, HAS_V: +(v !== null), HAS_WD: +(o.wd !== 0), NESTEROV: +o.nesterov, SCALE_BUF: +(scale !== null) },
    inputs: [w, g, v ?? w, scale ?? w], outputs: [wOut, vOut],
    params: [u32(n), u32(T), f32(o.lrOut), f32(o.c), f32(o.m), f32(o.wd), u32(0), u32(0)], workgroups,
  });
}

export interface LarsAttrs {
  readonly lr: number; readonly momentum: number; readonly weightDecay: number; readonly eta: number;
  readonly excluded: boolean; readonly nesterov: boolean; readonly hasBuffer: boolean;
}

/** Partial sums of the trust ratio's norms, one per invocation (a multiple of 8, at most this many; about one per 1024 elements). */
const LARS_PARTIALS = 2048;

export const LarsUpdateOp = defineOp<LarsAttrs>({
  name: 'larsUpdate',
  shape(inputs, a) { return momentumInputs('larsUpdate', inputs, a.hasBuffer); },
  aux(inputs) { return [inputs[0]]; },
  cpu(_b, [w, g, v], a) {
    const n = w.data.length;
    const gd = Float64Array.from(g.data, (x, i) => (a.excluded ? x : x + a.weightDecay * w.data[i]));
    let trust = 1;
    if (!a.excluded) {
      let sw = 0, sg = 0;
      for (let i = 0; i < n; i++) { sw += w.data[i] ** 2; sg += gd[i] ** 2; }
      const wn = Math.sqrt(sw), gn = Math.sqrt(sg);
      if (wn > 0 && gn > 0) trust = (a.eta * wn) / gn;
    }
    const out = new Float64Array(n), buf = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const d = a.lr * trust * gd[i];
      buf[i] = v && a.momentum ? a.momentum * v.data[i] + d : d;
      out[i] = w.data[i] - (a.nesterov ? a.momentum * buf[i] + d : buf[i]);
    }
    return { out, aux: [buf] };
  },
  webgpu(gpu, [w, g, v], a) {
    const n = w.size;
    const wOut = gpu.alloc(n), vOut = gpu.alloc(n);
    const wd = a.excluded ? 0 : a.weightDecay;
    let scale: GpuStorage | null = null;
    if (!a.excluded) {
      const P = 8 * Math.max(1, Math.min(LARS_PARTIALS / 8, Math.ceil(n / 8192)));
      const part = gpu.alloc(2 * P);
      scale = gpu.alloc(1);
      const params = [u32(n), u32(P), f32(wd), f32(a.eta), f32(a.lr), u32(0), u32(0), u32(0)];
      gpu.run({ shader: 'optim_lars', entry: 'partials', inputs: [w.storage, g.storage], outputs: [part], params, workgroups: grid(Math.ceil(P / 64)) });
      gpu.run({ shader: 'optim_lars', entry: 'trust', inputs: [part], outputs: [scale], params, workgroups: [1] });
      gpu.release(part);
    }
    momentumGpu(gpu, w.storage, g.storage, v && a.momentum ? v.storage : null, scale, wOut, vOut, n,
      { lrOut: 1, c: a.lr, m: a.momentum, wd, nesterov: a.nesterov });
    if (scale) gpu.release(scale);
    return { out: wOut, aux: [vOut] };
  },
});

// ---- Adam ----------------------------------------------------------------------------------------

export interface AdamAttrs {
  readonly lr: number; readonly beta1: number; readonly beta2: number; readonly eps: number;
  readonly weightDecay: number; readonly decoupled: boolean; readonly hasMoments: boolean;
}

export const AdamUpdateOp = defineOp<AdamAttrs>({
  name: 'adamUpdate',
  shape(inputs, a) {
    if (inputs.length !== (a.hasMoments ? 5 : 3)) throw new ArgumentError('adamUpdate', `expected ${a.hasMoments ? 5 : 3} inputs, got ${inputs.length}`);
    const [w, g, t, ...mv] = inputs;
    sameShape('adamUpdate', ['param', 'grad', 'exp_avg', 'exp_avg_sq'], [w, g, ...mv]);
    if (t.dtype !== 'f32' || t.shape.reduce((p, d) => p * d, 1) !== 1) throw new ShapeError('adamUpdate', `the step count must be one f32 element, got ${t.dtype} ${fmtShape(t.shape)}`);
    return w;
  },
  aux([w]) { return [w, w]; },
  cpu(_b, [w, g, t, m, v], a) {
    const n = w.data.length;
    const step = t.data[0];
    const omp = (b: number) => (b === 0 ? 1 : 1 - Math.exp(step * Math.log(b)));
    const stepSize = a.lr / omp(a.beta1), sqrtBc2 = Math.sqrt(omp(a.beta2));
    const out = new Float64Array(n), mo = new Float64Array(n), vo = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let wi = w.data[i], gi = g.data[i];
      if (a.decoupled) wi *= 1 - a.lr * a.weightDecay; else gi += a.weightDecay * wi;
      mo[i] = (1 - a.beta1) * gi + (m ? a.beta1 * m.data[i] : 0);
      vo[i] = (1 - a.beta2) * gi * gi + (v ? a.beta2 * v.data[i] : 0);
      out[i] = wi - stepSize * (mo[i] / (Math.sqrt(vo[i]) / sqrtBc2 + a.eps));
    }
    return { out, aux: [mo, vo] };
  },
  webgpu(gpu, [w, g, t, m, v], a) {
    const n = w.size;
    const wOut = gpu.alloc(n), mOut = gpu.alloc(n), vOut = gpu.alloc(n);
    const { T, workgroups } = vec4Grid('adamUpdate', n, E, WG, [w.storage, g.storage, wOut, mOut, vOut, ...(m && v ? [m.storage, v.storage] : [])]);
    gpu.run({
      shader: 'optim_adam', constants: { E, HAS_MOMENTS: +a.hasMoments, DECOUPLED: +a.decoupled },
      inputs: [w.storage, g.storage, t.storage, m?.storage ?? w.storage, v?.storage ?? w.storage], outputs: [wOut, mOut, vOut],
      params: [u32(n), u32(T), f32(a.lr), f32(a.beta1), f32(a.beta2), f32(a.eps), f32(a.weightDecay), u32(0)], workgroups,
    });
    return { out: wOut, aux: [mOut, vOut] };
  },
});

// ---- moving average --------------------------------------------------------------------------------

export interface EmaAttrs { readonly momentum: number }

export const EmaUpdateOp = defineOp<EmaAttrs>({
  name: 'emaUpdate',
  shape(inputs) {
    sameShape('emaUpdate', ['target', 'online'], inputs);
    return inputs[0];
  },
  cpu(_b, [t, o], { momentum: m }) { return Float64Array.from(t.data, (x, i) => m * x + (1 - m) * o.data[i]); },
  webgpu(gpu, [t, o], { momentum }) {
    const n = t.size;
    const out = gpu.alloc(n);
    const { T, workgroups } = vec4Grid('emaUpdate', n, E, WG, [t.storage, o.storage, out]);
    gpu.run({
      shader: 'optim_ema', constants: { E }, inputs: [t.storage, o.storage], outputs: [out],
      params: [u32(n), u32(T), f32(momentum), u32(0)], workgroups,
    });
    return out;
  },
});

// ---- the API ---------------------------------------------------------------------------------------

function checkNumbers(op: string, o: Record<string, number>): void {
  for (const [k, v] of Object.entries(o)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ArgumentError(op, `${k} must be a finite number, got ${String(v)}`);
  }
}

export interface SgdUpdateOptions { lr: number; momentum?: number; weightDecay?: number; nesterov?: boolean }

/** One SGD step of one tensor: the new parameter and momentum buffer (null without momentum). */
export function sgdUpdate(w: Tensor, g: Tensor, v: Tensor | null, o: SgdUpdateOptions): { w: Tensor; v: Tensor | null } {
  const a: SgdAttrs = { lr: o.lr, momentum: o.momentum ?? 0, weightDecay: o.weightDecay ?? 0, nesterov: o.nesterov ?? false, hasBuffer: v !== null };
  checkNumbers('sgdUpdate', { lr: a.lr, momentum: a.momentum, weightDecay: a.weightDecay });
  const { out, aux } = runOpAux(SgdUpdateOp, v && a.momentum > 0 ? [w, g, v] : [w, g], { ...a, hasBuffer: v !== null && a.momentum > 0 });
  return { w: out, v: aux[0] ?? null };
}

export interface LarsUpdateOptions { lr: number; momentum: number; weightDecay: number; eta: number; excluded: boolean; nesterov?: boolean }

/** One LARS step of one tensor: the new parameter and momentum buffer. */
export function larsUpdate(w: Tensor, g: Tensor, v: Tensor | null, o: LarsUpdateOptions): { w: Tensor; v: Tensor } {
  checkNumbers('larsUpdate', { lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay, eta: o.eta });
  const hasBuffer = v !== null && o.momentum !== 0;
  const { out, aux } = runOpAux(LarsUpdateOp, hasBuffer ? [w, g, v!] : [w, g], { ...o, nesterov: o.nesterov ?? false, hasBuffer });
  return { w: out, v: aux[0] };
}

export interface AdamUpdateOptions { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; decoupled: boolean }

/** One Adam / AdamW step of one tensor; t is the step count including this step (1 element, f32). */
export function adamUpdate(w: Tensor, g: Tensor, t: Tensor, moments: { m: Tensor; v: Tensor } | null, o: AdamUpdateOptions): { w: Tensor; m: Tensor; v: Tensor } {
  checkNumbers('adamUpdate', { lr: o.lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay });
  const { out, aux } = runOpAux(AdamUpdateOp, moments ? [w, g, t, moments.m, moments.v] : [w, g, t], { ...o, hasMoments: moments !== null });
  return { w: out, m: aux[0], v: aux[1] };
}

/** target * m + online * (1 - m), one fused pass (the moving-average update of MoCo / BYOL). */
export function emaUpdate(target: Tensor, online: Tensor, momentum: number): Tensor {
  if (!(momentum >= 0 && momentum <= 1)) throw new ArgumentError('emaUpdate', `momentum must be in [0, 1], got ${momentum}`);
  const { out } = runOpAux(EmaUpdateOp, [target, online], { momentum });
  return out;
}
