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
import { larsUpdate } from '../engine/ops/index.js';
import type { ParamRole } from './module.js';
import { Optimizer, type ParamsInput } from './optimizer.js';

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

/** LARS. State: 'momentum.<i>'. Needs parameter roles unless excludeRoles is []. */
export class LARS extends Optimizer {
  protected readonly slotKeys = ['momentum'] as const;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly eta: number;
  readonly nesterov: boolean;
  private readonly excluded: boolean[];

  constructor(params: ParamsInput, opts: LARSOptions) {
    const exclude = new Set<ParamRole>(opts.excludeRoles ?? ['bn', 'bias']);
    super('LARS', params, opts.lr, { needsRoles: exclude.size > 0 });
    this.momentum = opts.momentum ?? 0.9;
    this.weightDecay = opts.weightDecay ?? 0;
    this.eta = opts.eta ?? 0.001;
    this.nesterov = opts.nesterov ?? false;
    if (!(this.momentum >= 0)) throw new ArgumentError('LARS', `momentum must be >= 0, got ${this.momentum}`);
    if (!(this.weightDecay >= 0)) throw new ArgumentError('LARS', `weightDecay must be >= 0, got ${this.weightDecay}`);
    if (!(this.eta > 0)) throw new ArgumentError('LARS', `eta must be > 0, got ${this.eta}`);
    this.excluded = this.slots.map((s) => s.role !== null && exclude.has(s.role));
  }

  /** Whether a parameter is excluded from weight decay and trust scaling. */
  isExcluded(t: Tensor): boolean | undefined {
    const s = this.slots.find((x) => x.tensor === t);
    return s ? this.excluded[s.index] : undefined;
  }

  step(): void {
    const { momentum, weightDecay, eta, lr, nesterov } = this;
    // one fused update (norms, trust ratio, momentum, parameter) on the device per group; excluded
    // parameters have no trust ratio, so theirs is an elementwise update that packs, the others
    // need their own norms
    noGrad(() => tidy(() => this.updateGroups(([w, g, v], first) => {
      const r = larsUpdate(w, g, v ?? null, { lr, momentum, weightDecay, eta, excluded: this.excluded[first.index], nesterov });
      return [r.w, r.v];
    }, (s) => this.excluded[s.index])));
  }
}
