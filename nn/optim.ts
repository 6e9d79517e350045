/**
 * Optimizers on the Optimizer base (optimizer.ts): SGD, Adam, AdamW; LARS is in lars.ts. A step
 * runs on the device with no read-back; parameters are updated in place (Tensor.assign) and state
 * tensors are owned by the optimizer until dispose().
 */
import { ArgumentError } from '../engine/errors.js';
import { noGrad, tidy, type Tensor } from '../engine/tensor.js';
import { adamUpdate, add, full, sgdUpdate } from '../engine/ops/index.js';
import { Optimizer, type ParamsInput } from './optimizer.js';

export interface SGDOptions {
  lr: number;
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

/** SGD with optional momentum / Nesterov and L2 weight decay, with PyTorch's update rule. State: 'momentum.<i>'. */
export class SGD extends Optimizer {
  protected readonly slotKeys = ['momentum'] as const;
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;

  constructor(params: ParamsInput, opts: SGDOptions) {
    super('SGD', params, opts.lr);
    this.momentum = opts.momentum ?? 0;
    this.nesterov = opts.nesterov ?? false;
    this.weightDecay = opts.weightDecay ?? 0;
    if (!(this.momentum >= 0)) throw new ArgumentError('SGD', `momentum must be >= 0, got ${this.momentum}`);
    if (!(this.weightDecay >= 0)) throw new ArgumentError('SGD', `weightDecay must be >= 0, got ${this.weightDecay}`);
    if (this.nesterov && !(this.momentum > 0)) throw new ArgumentError('SGD', 'nesterov needs momentum > 0');
  }

  step(): void {
    const { momentum, weightDecay, lr, nesterov } = this;
    // one fused update (decay, momentum, parameter) on the device per group
    noGrad(() => tidy(() => this.updateGroups(([w, g, v]) => {
      const r = sgdUpdate(w, g, v ?? null, { lr, momentum, weightDecay, nesterov });
      return r.v ? [r.w, r.v] : [r.w];
    })));
  }
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
export class Adam extends Optimizer {
  protected readonly slotKeys = ['exp_avg', 'exp_avg_sq'] as const;
  protected override readonly globalKeys = ['step'] as const;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;

  constructor(params: ParamsInput, opts: AdamOptions = {}, protected readonly decoupled = false) {
    super(decoupled ? 'AdamW' : 'Adam', params, opts.lr ?? 1e-3);
    const name = this.who;
    [this.beta1, this.beta2] = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? (decoupled ? 1e-2 : 0);
    if (!(this.beta1 >= 0 && this.beta1 < 1 && this.beta2 >= 0 && this.beta2 < 1)) {
      throw new ArgumentError(name, `betas must be in [0, 1), got [${this.beta1}, ${this.beta2}]`);
    }
    if (!(this.eps >= 0)) throw new ArgumentError(name, `eps must be >= 0, got ${this.eps}`);
    if (!(this.weightDecay >= 0)) throw new ArgumentError(name, `weightDecay must be >= 0, got ${this.weightDecay}`);
  }

  /** Steps taken (the t of the bias correction), on the device; created on first use. */
  private stepCounter(): Tensor {
    return this.global('step', () => full([], 0, { backend: this.slots[0].tensor.backend }));
  }

  /** Steps taken so far (the t of the bias correction); reads the device counter. */
  async stepCount(): Promise<number> { return (await this.stepCounter().data())[0]; }

  step(): void {
    const { beta1: b1, beta2: b2, eps, lr, weightDecay: wd } = this;
    const t = this.stepCounter();
    noGrad(() => tidy(() => {
      t.assign(add(t, 1));
      // one fused update (decay, both moments, bias corrections from t, parameter) on the device per group
      this.updateGroups(([w, g, m, v]) => {
        const r = adamUpdate(w, g, t, m && v ? { m, v } : null, { lr, beta1: b1, beta2: b2, eps, weightDecay: wd, decoupled: this.decoupled });
        return [r.w, r.m, r.v];
      });
    }));
  }

  /**
   * 'step' (0-d f32 step count, created if no step was taken yet) and, for every parameter that has
   * had a gradient, 'exp_avg.<i>' and 'exp_avg_sq.<i>' (PyTorch's names).
   */
  override stateDict(): Map<string, Tensor> {
    this.stepCounter();
    return super.stateDict();
  }
}

/** AdamW (torch.optim.AdamW): Adam with decoupled weight decay, default 1e-2. */
export class AdamW extends Adam {
  constructor(params: ParamsInput, opts: AdamOptions = {}) { super(params, opts, true); }
}
