// Placeholder until the reduction ops land (sum, max, mean, variance, sumTo).
import { sameShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { EngineError } from '../errors.js';

/** Sums x down to `shape` (the inverse of broadcasting), for gradients of broadcast ops. */
export function sumTo(x: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(x.shape, shape)) return x;
  throw new EngineError('sumTo', 'not implemented yet');
}
