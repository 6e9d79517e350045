/** Basic layers. Weight layouts follow PyTorch (Linear weight is [out, in]). */
import type { Backend } from '../engine/backend.js';
import { ArgumentError, fmtShape } from '../engine/errors.js';
import type { Random } from '../engine/random.js';
import type { Tensor } from '../engine/tensor.js';
import { add, relu, rand, matmul } from '../engine/ops/index.js';
import { Module } from './module.js';

export interface LinearOptions { bias?: boolean; rng?: Random; backend?: Backend }

/** y = x W^T + b. Initialized as PyTorch does: W, b ~ U(-1/sqrt(in), 1/sqrt(in)). */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: LinearOptions = {}) {
    super();
    if (!(Number.isInteger(inFeatures) && inFeatures > 0 && Number.isInteger(outFeatures) && outFeatures > 0)) {
      throw new ArgumentError('Linear', `feature counts must be positive integers, got ${inFeatures} -> ${outFeatures}`);
    }
    const bound = 1 / Math.sqrt(inFeatures);
    const init = { low: -bound, high: bound, rng: opts.rng, backend: opts.backend };
    this.weight = this.registerParameter('weight', rand([outFeatures, inFeatures], init));
    this.bias = opts.bias === false ? null : this.registerParameter('bias', rand([outFeatures], init));
  }

  forward(x: Tensor): Tensor {
    if (x.shape[x.rank - 1] !== this.inFeatures) {
      throw new ArgumentError('Linear', `expected input [..., ${this.inFeatures}], got ${fmtShape(x.shape)}`);
    }
    const y = matmul(x, this.weight, { transB: true });
    return this.bias ? add(y, this.bias) : y;
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor { return relu(x); }
}

/** Runs children in order; children are named "0", "1", ... as in PyTorch. */
export class Sequential extends Module {
  private readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    layers.forEach((m, i) => this.registerModule(String(i), m));
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.layers) y = m.forward(y);
    return y;
  }
}
