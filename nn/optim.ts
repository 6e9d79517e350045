/**
 * Optimizers. A step runs on the device with no read-back; parameters are updated in place
 * (Tensor.assign) and optimizer state tensors are owned by the optimizer until dispose().
 */
import { ArgumentError } from '../engine/errors.js';
import { noGrad, tidy, type Tensor } from '../engine/tensor.js';
import { add, mul } from '../engine/ops/index.js';

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

  dispose(): void {
    for (const b of this.buffers.values()) b.dispose();
    this.buffers.clear();
  }
}
