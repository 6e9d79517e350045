/**
 * Typed errors. Each names the op, and where relevant the offending shapes, dtypes or device, so a
 * user can see at once which call was wrong: `matmul: inner dimensions differ: [32,64] x [63,10]`.
 */
import type { DType } from './dtype.js';

export class EngineError extends Error {
  constructor(readonly op: string, detail: string) {
    super(`${op}: ${detail}`);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit the op's shape rule. */
export class ShapeError extends EngineError {}

/** An input of a dtype the op does not accept. */
export class DTypeError extends EngineError {
  constructor(op: string, detail: string, readonly dtype?: DType) { super(op, detail); }
}

/** Tensors from two backends mixed in one op, or no usable device. */
export class DeviceError extends EngineError {}

/** A tensor used after dispose(). */
export class DisposedError extends EngineError {}

/** A bad non-tensor argument (axis out of range, negative size, ...). */
export class ArgumentError extends EngineError {}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}
