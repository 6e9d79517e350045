/**
 * Exponential moving averages of a network's weights: the key encoder of MoCo and the target
 * network of BYOL. `MovingAverage(target, online)` pairs every parameter of `target` with the
 * online parameter of the same name (names, shapes and count must match, checked once here);
 * `update(m)` sets target <- m * target + (1 - m) * online on the device, reading nothing back.
 *
 * Only parameters are averaged, as in MoCo (`_momentum_update_key_encoder`) and solo-learn's BYOL:
 * the target's batch-norm running statistics are its own, updated by its forward passes in
 * training mode (and never used, since targets always run in training mode and evaluation uses the
 * online encoder).
 */
import { ArgumentError, fmtShape } from '../engine/errors.js';
import { noGrad, tidy, type Tensor } from '../engine/tensor.js';
import { emaUpdate, mul } from '../engine/ops/index.js';
import type { Module } from './module.js';
import { packGroups, packedUpdate } from './packed-update.js';

export class MovingAverage {
  /** [target, online] parameter pairs, in the target's order. */
  readonly pairs: readonly (readonly [Tensor, Tensor])[];

  constructor(readonly target: Module, readonly online: Module) {
    const on = new Map(online.namedParameters());
    const tgt = target.namedParameters();
    if (tgt.length !== on.size) {
      throw new ArgumentError('MovingAverage', `target has ${tgt.length} parameters but the online network ${on.size}`);
    }
    this.pairs = tgt.map(([name, t]) => {
      const o = on.get(name);
      if (!o) throw new ArgumentError('MovingAverage', `online network has no parameter '${name}'`);
      if (o.shape.length !== t.shape.length || o.shape.some((d, i) => d !== t.shape[i])) {
        throw new ArgumentError('MovingAverage', `'${name}' is ${fmtShape(t.shape)} in the target but ${fmtShape(o.shape)} online`);
      }
      return [t, o] as const;
    });
  }

  /** target <- m * target + (1 - m) * online, m in [0, 1]. */
  update(m: number): void {
    if (!(m >= 0 && m <= 1)) throw new ArgumentError('MovingAverage', `momentum must be in [0, 1], got ${m}`);
    if (m === 1) return;
    noGrad(() => tidy(() => {
      // one fused pass on the device per tensor, or per group of small tensors
      for (const group of packGroups(this.pairs, ([t]) => t.size, () => 'small')) {
        const targets = group.map(([t]) => t);
        packedUpdate([targets, group.map(([, o]) => o)], ([t, o]) => [m === 0 ? mul(o, 1) : emaUpdate(t, o, m)], [targets]);
      }
    }));
  }

  /** target <- online for parameters and buffers alike (the start of training). */
  copy(): void {
    this.target.loadStateDict(this.online.stateDict());
  }
}
