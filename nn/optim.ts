/**
 * Optimizers (SGD, Adam, AdamW; LARS is in lars.ts). A step runs on the device with no read-back; parameters are updated in place
 * (Tensor.assign) and optimizer state tensors are owned by the optimizer until dispose().
 */
import { ArgumentError } from '../engine/errors.js';
import { noGrad, tidy, type Tensor } from '../engine/tensor.js';
import { add, cast, div, exp, full, mul, reshape, scalarLike, sqrt, square, sub } from '../engine/ops/index.js';

export interface SGDOptions {
  lr: number;
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

/** SGD with optional momentum / Nesterov and L2 weight decay, with PyTorch's update rule. */
export class SGD {
  private buffers = new Map<Tensor, Tensor>();
  lr: number;

  constructor(readonly params: readonly Tensor[], readonly opts: SGDOptions) {
    if (!(opts.lr >= 0)) throw new ArgumentError('SGD', `lr must be >= 0, got ${opts.lr}`);
    if (opts.nesterov && !(opts.momentum && opts.momentum > 0)) throw new ArgumentError('SGD', 'nesterov needs momentum > 0');
    this.lr = opts.lr;
  }

  step(): void {
    const m = this.opts.momentum ?? 0;
    const wd = this.opts.weightDecay ?? 0;
    noGrad(() => tidy(() => {
      for (const p of this.params) {
        if (!p.grad) continue;
        let d = wd ? add(p.grad, mul(p, wd)) : p.grad;
        if (m) {
          const prev = this.buffers.get(p);
          const buf = prev ? add(mul(prev, m), d) : d.detach();
          if (prev) prev.dispose();
          this.buffers.set(p, buf.keep());
          d = this.opts.nesterov ? add(d, mul(buf, m)) : buf;
        }
        p.assign(add(p, mul(d, -this.lr)));
      }
    }));
  }

  zeroGrad(): void {
    for (const p of this.params) { p.grad?.dispose(); p.grad = null; }
  }

  /** Momentum buffers keyed by parameter index ('momentum.<i>'); the optimizer keeps owning them. */
  stateDict(): Map<string, Tensor> { return momentumState(this.params, this.buffers); }

  /** Replaces the momentum buffers with copies of `state` ('momentum.<i>', as stateDict() writes). */
  loadStateDict(state: ReadonlyMap<string, Tensor>): void { loadMomentumState('SGD', this.params, this.buffers, state); }

  dispose(): void {
    for (const b of this.buffers.values()) b.dispose();
    this.buffers.clear();
  }
}

/** @internal Momentum buffers of `params` as 'momentum.<i>' entries (shared by SGD and LARS). */
export function momentumState(params: readonly Tensor[], buffers: ReadonlyMap<Tensor, Tensor>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  params.forEach((p, i) => { const b = buffers.get(p); if (b) out.set(`momentum.${i}`, b); });
  return out;
}

/** @internal Validates every entry first, then replaces all buffers with copies (on each parameter's backend). */
export function loadMomentumState(who: string, params: readonly Tensor[], buffers: Map<Tensor, Tensor>, state: ReadonlyMap<string, Tensor>): void {
  const where = `${who}.loadStateDict`;
  const next: [Tensor, Tensor][] = [];
  for (const [key, v] of state) {
    const m = /^momentum\.(\d+)$/.exec(key);
    const i = m ? Number(m[1]) : -1;
    if (!(i >= 0 && i < params.length)) throw new ArgumentError(where, `unexpected key '${key}' (expected momentum.0..momentum.${params.length - 1})`);
    const p = params[i];
    if (v.isDisposed) throw new ArgumentError(where, `'${key}' was disposed`);
    if (v.shape.length !== p.shape.length || v.shape.some((d, k) => d !== p.shape[k])) {
      throw new ArgumentError(where, `'${key}' has shape [${v.shape.join(', ')}] but parameter ${i} has [${p.shape.join(', ')}]`);
    }
    if (v.backend !== p.backend) throw new ArgumentError(where, `'${key}' lives on another backend than parameter ${i}`);
    next.push([p, v]);
  }
  for (const b of buffers.values()) b.dispose();
  buffers.clear();
  noGrad(() => { for (const [p, v] of next) buffers.set(p, tidy(() => mul(v, 1)).keep()); });
}

export interface AdamOptions {
  /** Default 1e-3. */
  lr?: number;
  /** Default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Added to sqrt(v_hat) (outside the square root, as PyTorch); default 1e-8. */
  eps?: number;
  /** Adam: L2 decay added to the gradient (default 0). AdamW: decoupled decay (default 1e-2). */
  weightDecay?: number;
}

/**
 * Adam with PyTorch's update (torch.optim.Adam, amsgrad off): bias-corrected moments,
 *   p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
 * With `decoupled` (AdamW) the weight decay multiplies p by (1 - lr * wd) before the update
 * instead of being added to the gradient.
 *
 * The step count t lives on the device (a 0-d f32 tensor, exact up to 2^24 steps) and the bias
 * corrections are computed there (b^t as exp(t ln b)), so a step reads nothing back and
 * loadStateDict, which is synchronous, can restore t without reading it.
 */
export class Adam {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private readonly moments = new Map<Tensor, { m: Tensor; v: Tensor }>();
  /** Steps taken (the t of the bias correction), on the device; created on first use. */
  private stepTensor: Tensor | null = null;

  constructor(readonly params: readonly Tensor[], opts: AdamOptions = {}, protected readonly decoupled = false) {
    const name = this.name;
    this.lr = opts.lr ?? 1e-3;
    [this.beta1, this.beta2] = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? (decoupled ? 1e-2 : 0);
    if (!(this.lr >= 0)) throw new ArgumentError(name, `lr must be >= 0, got ${this.lr}`);
    if (!(this.beta1 >= 0 && this.beta1 < 1 && this.beta2 >= 0 && this.beta2 < 1)) {
      throw new ArgumentError(name, `betas must be in [0, 1), got [${this.beta1}, ${this.beta2}]`);
    }
    if (!(this.eps >= 0)) throw new ArgumentError(name, `eps must be >= 0, got ${this.eps}`);
    if (!(this.weightDecay >= 0)) throw new ArgumentError(name, `weightDecay must be >= 0, got ${this.weightDecay}`);
  }

  private get name(): string { return this.decoupled ? 'AdamW' : 'Adam'; }

  private stepCounter(): Tensor {
    if (!this.stepTensor || this.stepTensor.isDisposed) {
      this.stepTensor = noGrad(() => full([], 0, { backend: this.params[0]?.backend })).keep();
    }
    return this.stepTensor;
  }

  /** Steps taken so far (the t of the bias correction); reads the device counter. */
  async stepCount(): Promise<number> { return (await this.stepCounter().data())[0]; }

  step(): void {
    const { beta1: b1, beta2: b2, eps, lr, weightDecay: wd } = this;
    const t = this.stepCounter();
    noGrad(() => tidy(() => {
      t.assign(add(t, 1));
      // 1 - b^t on the device; b = 0 gives 1 (exp(t * -inf) is avoided).
      const oneMinusPow = (b: number) => (b === 0 ? scalarLike(t, 1) : sub(1, exp(mul(t, Math.log(b)))));
      const stepSize = div(scalarLike(t, lr), oneMinusPow(b1));
      const sqrtBc2 = sqrt(oneMinusPow(b2));
      for (const p of this.params) {
        if (!p.grad) continue;
        let g = p.grad;
        if (wd && this.decoupled) p.assign(mul(p, 1 - lr * wd));
        else if (wd) g = add(g, mul(p, wd));
        const prev = this.moments.get(p);
        const m = prev ? add(mul(prev.m, b1), mul(g, 1 - b1)) : mul(g, 1 - b1);
        const v = prev ? add(mul(prev.v, b2), mul(square(g), 1 - b2)) : mul(square(g), 1 - b2);
        if (prev) { prev.m.dispose(); prev.v.dispose(); }
        this.moments.set(p, { m: m.keep(), v: v.keep() });
        const denom = add(div(sqrt(v), sqrtBc2), eps);
        p.assign(sub(p, mul(div(m, denom), stepSize)));
      }
    }));
  }

  zeroGrad(): void {
    for (const p of this.params) { p.grad?.dispose(); p.grad = null; }
  }

  /**
   * The optimizer state, owned by the optimizer (do not dispose): 'step' (0-d f32 step count) and,
   * for every parameter that has had a gradient, 'exp_avg.<i>' and 'exp_avg_sq.<i>' (first and
   * second moments, PyTorch's names) keyed by the parameter's index in `params`.
   */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>([['step', this.stepCounter()]]);
    this.params.forEach((p, i) => {
      const s = this.moments.get(p);
      if (s) { out.set(`exp_avg.${i}`, s.m); out.set(`exp_avg_sq.${i}`, s.v); }
    });
    return out;
  }

  /**
   * Replaces step count and moments with copies of `state` (as stateDict() writes it). Strict:
   * 'step' must be present with one element; each parameter has both moments or neither (neither:
   * no gradient seen yet, as in PyTorch); any other key, a shape that differs from the parameter's,
   * a disposed tensor or another backend throws an ArgumentError naming the key, and nothing changes.
   */
  loadStateDict(state: ReadonlyMap<string, Tensor>): void {
    const where = `${this.name}.loadStateDict`;
    const n = this.params.length;
    const backend = this.params[0]?.backend;
    const check = (key: string, v: Tensor) => {
      if (v.isDisposed) throw new ArgumentError(where, `'${key}' was disposed`);
      if (backend && v.backend !== backend) throw new ArgumentError(where, `'${key}' lives on another backend than the parameters`);
    };
    const step = state.get('step');
    if (!step) throw new ArgumentError(where, `missing key 'step' (the step count)`);
    check('step', step);
    if (step.size !== 1) throw new ArgumentError(where, `'step' must hold one element, got shape [${step.shape.join(', ')}]`);
    const next = new Map<Tensor, { m: Tensor; v: Tensor }>();
    const pending = new Map<number, { m?: Tensor; v?: Tensor }>();
    for (const [key, v] of state) {
      if (key === 'step') continue;
      const match = /^(exp_avg|exp_avg_sq)\.(\d+)$/.exec(key);
      const i = match ? Number(match[2]) : -1;
      if (!(i >= 0 && i < n)) {
        throw new ArgumentError(where, `unexpected key '${key}' (expected step, exp_avg.<i> and exp_avg_sq.<i> for i in 0..${n - 1})`);
      }
      check(key, v);
      const p = this.params[i];
      if (v.shape.length !== p.shape.length || v.shape.some((d, k) => d !== p.shape[k])) {
        throw new ArgumentError(where, `'${key}' has shape [${v.shape.join(', ')}] but parameter ${i} has [${p.shape.join(', ')}]`);
      }
      const slot = pending.get(i) ?? {};
      if (match![1] === 'exp_avg') slot.m = v; else slot.v = v;
      pending.set(i, slot);
    }
    for (const [i, { m, v }] of pending) {
      if (!m) throw new ArgumentError(where, `missing key 'exp_avg.${i}' (state has 'exp_avg_sq.${i}')`);
      if (!v) throw new ArgumentError(where, `missing key 'exp_avg_sq.${i}' (state has 'exp_avg.${i}')`);
      next.set(this.params[i], { m, v });
    }
    // Copy first (the state may be this optimizer's own stateDict()), then replace.
    const copy = (t: Tensor, shape: readonly number[]) =>
      tidy(() => reshape(t.dtype === 'f32' ? mul(t, 1) : cast(t, 'f32'), shape)).keep();
    const copies = noGrad(() => ({
      step: copy(step, []),
      moments: [...next].map(([p, { m, v }]) => [p, { m: copy(m, p.shape), v: copy(v, p.shape) }] as const),
    }));
    this.dispose();
    this.stepTensor = copies.step;
    for (const [p, mv] of copies.moments) this.moments.set(p, mv);
  }

  /** Releases moments and step counter. */
  dispose(): void {
    for (const { m, v } of this.moments.values()) { m.dispose(); v.dispose(); }
    this.moments.clear();
    this.stepTensor?.dispose();
    this.stepTensor = null;
  }
}

/** AdamW (torch.optim.AdamW): Adam with decoupled weight decay, default 1e-2. */
export class AdamW extends Adam {
  constructor(params: readonly Tensor[], opts: AdamOptions = {}) { super(params, opts, true); }
}
