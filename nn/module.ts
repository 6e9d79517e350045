/**
 * Module: named parameters and child modules, train/eval mode, PyTorch-style. Parameters are
 * ordinary tensors with requiresGrad; optimizers update them in place with Tensor.assign().
 */
import { Tensor } from '../engine/tensor.js';
import { ArgumentError } from '../engine/errors.js';

export abstract class Module {
  training = true;
  private readonly _params = new Map<string, Tensor>();
  private readonly _children = new Map<string, Module>();

  abstract forward(x: Tensor): Tensor;

  /** Same as forward; reads better at call sites: `model.call(x)`. */
  call(x: Tensor): Tensor { return this.forward(x); }

  protected registerParameter(name: string, t: Tensor): Tensor {
    if (this._params.has(name) || this._children.has(name)) throw new ArgumentError('Module', `name '${name}' registered twice`);
    t.requiresGrad = true;
    this._params.set(name, t.keep());
    return t;
  }

  protected registerModule<M extends Module>(name: string, m: M): M {
    if (this._params.has(name) || this._children.has(name)) throw new ArgumentError('Module', `name '${name}' registered twice`);
    this._children.set(name, m);
    return m;
  }

  /** Parameters with dotted names, depth first, in registration order. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [...this._params].map(([n, t]) => [prefix + n, t]);
    for (const [n, c] of this._children) out.push(...c.namedParameters(`${prefix}${n}.`));
    return out;
  }

  parameters(): Tensor[] { return this.namedParameters().map(([, t]) => t); }

  children(): Module[] { return [...this._children.values()]; }

  train(mode = true): this {
    this.training = mode;
    for (const c of this._children.values()) c.train(mode);
    return this;
  }

  eval(): this { return this.train(false); }

  /** Drops accumulated gradients. */
  zeroGrad(): void {
    for (const p of this.parameters()) { p.grad?.dispose(); p.grad = null; }
  }

  /** Releases every parameter (and its gradient). */
  dispose(): void {
    for (const p of this.parameters()) p.dispose();
  }
}
