/**
 * LARS (layer-wise adaptive rate scaling), exactly as the official SimCLR optimizer
 * (google-research/simclr, LARSOptimizer with classic_momentum=True):
 *
 *   g     <- g + wd * w                                   (unless the parameter is excluded)
 *   trust <- eta * ||w|| / ||g||  if ||w|| > 0 and ||g|| > 0, else 1   (unless excluded)
 *   v     <- m * v + lr * trust * g
 *   w     <- w - v                  (Nesterov: w <- w - (m * v + lr * trust * g))
 *
 * The learning rate lives inside the momentum buffer, as in the official code. Parameters whose
 * role (Module.parameterInfos) is 'bn' or 'bias' get neither weight decay nor trust scaling (the
 * official code excludes 'batch_normalization' and 'bias' by variable name; here it is decided by
 * role, never by name). Norms and the trust ratio are computed on the device (sum of squares,
 * where/greater): a step reads nothing back. `lr` may be changed before every step.
 */
import { ArgumentError } from '../engine/errors.js';
import { noGrad, tidy, type Tensor } from '../engine/tensor.js';
import { add, div, greater, mul, scalarLike, sqrt, square, sub, sum, where } from '../engine/ops/index.js';
import { Module, type ParamRole, type ParameterInfo } from './module.js';
import { loadMomentumState, momentumState } from './optim.js';

export interface LARSOptions {
  /** Learning rate (settable per step through `opt.lr`, e.g. from warmupCosineLr). */
  lr: number;
  /** Default 0.9. */
  momentum?: number;
  /** L2 weight decay added to the gradient; default 0 (SimCLR uses 1e-6). */
  weightDecay?: number;
  /** Trust coefficient; default 0.001. */
  eta?: number;
  /** Default false (the official default). */
  nesterov?: boolean;
  /** Roles excluded from weight decay and trust scaling; default ['bn', 'bias']. */
  excludeRoles?: readonly ParamRole[];
}

interface Slot { tensor: Tensor; excluded: boolean }

export class LARS {
  lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly eta: number;
  readonly nesterov: boolean;
  private readonly slots: Slot[];
  private readonly buffers = new Map<Tensor, Tensor>();

  /** `params`: a Module (its parameterInfos()) or ParameterInfo-like entries with roles. */
  constructor(params: Module | readonly Pick<ParameterInfo, 'tensor' | 'role'>[], opts: LARSOptions) {
    const infos = params instanceof Module ? params.parameterInfos() : params;
    if (!(opts.lr >= 0)) throw new ArgumentError('LARS', `lr must be >= 0, got ${opts.lr}`);
    this.momentum = opts.momentum ?? 0.9;
    this.weightDecay = opts.weightDecay ?? 0;
    this.eta = opts.eta ?? 0.001;
    this.nesterov = opts.nesterov ?? false;
    if (!(this.momentum >= 0)) throw new ArgumentError('LARS', `momentum must be >= 0, got ${this.momentum}`);
    if (!(this.weightDecay >= 0)) throw new ArgumentError('LARS', `weightDecay must be >= 0, got ${this.weightDecay}`);
    if (!(this.eta > 0)) throw new ArgumentError('LARS', `eta must be > 0, got ${this.eta}`);
    const exclude = new Set<ParamRole>(opts.excludeRoles ?? ['bn', 'bias']);
    this.slots = infos.map((p) => ({ tensor: p.tensor, excluded: exclude.has(p.role) }));
    this.lr = opts.lr;
  }

  /** The parameters, in order. */
  get params(): Tensor[] { return this.slots.map((s) => s.tensor); }

  /** Whether a parameter is excluded from weight decay and trust scaling. */
  isExcluded(t: Tensor): boolean | undefined { return this.slots.find((s) => s.tensor === t)?.excluded; }

  step(): void {
    const { momentum: m, weightDecay: wd, eta, lr } = this;
    noGrad(() => tidy(() => {
      for (const { tensor: w, excluded } of this.slots) {
        if (!w.grad) continue;
        const g = !excluded && wd ? add(w.grad, mul(w, wd)) : w.grad;
        let scaledG: Tensor;
        if (excluded) {
          scaledG = mul(g, lr);
        } else {
          const wn = sqrt(sum(square(w)));
          const gn = sqrt(sum(square(g)));
          const one = scalarLike(w, 1);
          const trust = where(greater(wn, 0), where(greater(gn, 0), mul(div(wn, gn), eta), one), one);
          scaledG = mul(g, mul(trust, lr));
        }
        const prev = this.buffers.get(w);
        const v = prev && m ? add(mul(prev, m), scaledG) : scaledG.detach();
        if (prev) prev.dispose();
        this.buffers.set(w, v.keep());
        const update = this.nesterov ? add(mul(v, m), scaledG) : v;
        w.assign(sub(w, update));
      }
    }));
  }

  zeroGrad(): void {
    for (const { tensor } of this.slots) { tensor.grad?.dispose(); tensor.grad = null; }
  }

  /** Momentum buffers keyed by parameter index ('momentum.<i>'); the optimizer keeps owning them. */
  stateDict(): Map<string, Tensor> { return momentumState(this.params, this.buffers); }

  /** Replaces the momentum buffers with copies of `state` ('momentum.<i>', as stateDict() writes). */
  loadStateDict(state: ReadonlyMap<string, Tensor>): void { loadMomentumState('LARS', this.params, this.buffers, state); }

  /** Releases the momentum buffers. */
  dispose(): void {
    for (const b of this.buffers.values()) b.dispose();
    this.buffers.clear();
  }
}
