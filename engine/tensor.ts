/**
 * Tensor: a shape, a dtype and a reference-counted storage on one backend, plus autograd links.
 *
 * Ownership: a Tensor handle holds one reference to its storage. `dispose()` drops it; the storage
 * goes back to the backend when the last reference (handles, autograd saved values) is gone.
 * `tidy(fn)` disposes every handle created inside fn except those it returns, so intermediates
 * need no bookkeeping; values saved for backward stay alive until backward has used them.
 */
import type { Backend, Storage } from './backend.js';
import { BYTES_PER_ELEMENT, type DType, type TypedArray } from './dtype.js';
import { ArgumentError, DTypeError, DisposedError, ShapeError, fmtShape } from './errors.js';
import { sizeOf, type Shape } from './shape.js';
import type { Node } from './autograd.js';

/** Shared, counted ownership of one backend storage. */
export class StorageRef {
  private refs = 1;
  constructor(readonly backend: Backend, readonly storage: Storage) {}
  retain(): this { this.refs++; return this; }
  release(): void {
    if (--this.refs === 0) this.backend.release(this.storage);
  }
  get alive(): boolean { return this.refs > 0; }
  /** Held by one handle only: nothing else can see its contents change. */
  get exclusive(): boolean { return this.refs === 1; }
}

let nextId = 1;

/**
 * Tensor.assign copies values up to this size into the tensor's own storage instead of taking the
 * value's. Small parameters and optimizer state (most tensors of a network by count) then keep
 * one buffer for the run, and a training step settles on the same buffers, so the WebGPU backend's
 * bind groups (cached by buffer) are reused: a SimCLR step at width 0.25 created about 200 each
 * step, 24 us of host time each, and none since. Larger values hand over their storage (two
 * buffers taking turns, which the cache holds as well): copying them cost more than it saved, up
 * to 18 ms per SGD step over ResNet-18's 11.2M parameters on lavapipe.
 */
export const ASSIGN_COPY_MAX_BYTES = 64 * 1024;

export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly size: number;
  /** Gradient accumulated by backward() (leaf tensors with requiresGrad). */
  grad: Tensor | null = null;
  /** The autograd node that produced this tensor (null for leaves and in noGrad). */
  node: Node | null = null;
  private _ref: StorageRef | null;
  private _requiresGrad = false;

  constructor(ref: StorageRef, shape: Shape, readonly dtype: DType, track = true) {
    this._ref = ref;
    this.shape = Object.freeze([...shape]);
    this.size = sizeOf(shape);
    if (track) trackInScope(this);
  }

  get backend(): Backend { return this.ref('backend').backend; }
  get rank(): number { return this.shape.length; }
  get isDisposed(): boolean { return this._ref === null; }
  get byteLength(): number { return this.size * BYTES_PER_ELEMENT; }

  /** The storage reference; throws a DisposedError naming `op` if this tensor was disposed. */
  ref(op: string): StorageRef {
    if (this._ref === null) throw new DisposedError(op, `tensor #${this.id} ${fmtShape(this.shape)} ${this.dtype} was disposed`);
    return this._ref;
  }

  get requiresGrad(): boolean { return this._requiresGrad || this.node !== null; }
  set requiresGrad(v: boolean) {
    if (v && this.dtype !== 'f32') throw new DTypeError('requiresGrad', `only f32 tensors can require grad, got ${this.dtype}`);
    this._requiresGrad = v;
  }
  get isLeaf(): boolean { return this.node === null; }

  /** Copies the values to the host. */
  async data(): Promise<TypedArray> {
    const ref = this.ref('data');
    return ref.backend.read(ref.storage, this.dtype, this.size);
  }

  /** Values as nested arrays (rank 0 gives a number). */
  async array(): Promise<unknown> {
    const flat = Array.from(await this.data());
    const build = (dim: number, off: number): unknown => {
      if (dim === this.shape.length) return flat[off];
      const step = sizeOf(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, off + i * step));
    };
    return build(0, 0);
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new ShapeError('item', `tensor has ${this.size} elements ${fmtShape(this.shape)}, expected 1`);
    return (await this.data())[0];
  }

  /** A new handle on the same storage, cut off from the autograd graph. */
  detach(): Tensor { return new Tensor(this.ref('detach').retain(), this.shape, this.dtype); }

  /**
   * Replaces this tensor's values by `value`'s, keeping the handle: how optimizers update
   * parameters. Without `from`, value has this tensor's shape and dtype; with it, value (the same
   * dtype, any shape) is read flat from element `from` on, as many elements as this tensor holds:
   * how a packed update hands each tensor its part. Up to ASSIGN_COPY_MAX_BYTES the values are
   * copied into this tensor's own storage where this handle alone holds it (no view, no graph that
   * saved it); otherwise this handle takes value's storage (with `from`, a new one holding the
   * part), and any other handles keep the old values. `value` is unchanged either way.
   */
  assign(value: Tensor, from?: number): this {
    if (from === undefined
      ? value.dtype !== this.dtype || value.shape.length !== this.shape.length || value.shape.some((d, i) => d !== this.shape[i])
      : value.dtype !== this.dtype || !(Number.isInteger(from) && from >= 0 && from + this.size <= value.size)) {
      const want = from === undefined ? `${fmtShape(this.shape)} ${this.dtype}` : `${this.dtype} with elements ${from}..${from + this.size - 1}`;
      throw new ArgumentError('assign', `expected ${want}, got ${fmtShape(value.shape)} ${value.dtype}`);
    }
    const mine = this.ref('assign'), theirs = value.ref('assign');
    const at = (from ?? 0) * BYTES_PER_ELEMENT, bytes = this.size * BYTES_PER_ELEMENT;
    if (mine === theirs && at === 0) return this;
    const backend = theirs.backend;
    if (mine !== theirs && mine.exclusive && mine.backend === backend && bytes <= ASSIGN_COPY_MAX_BYTES) {
      backend.copy(theirs.storage, mine.storage, bytes, at);
      return this;
    }
    if (at === 0 && value.size === this.size) this._ref = theirs.retain();
    else {
      const part = backend.alloc(this.size, this.dtype);
      backend.copy(theirs.storage, part, bytes, at);
      this._ref = new StorageRef(backend, part);
    }
    mine.release();
    return this;
  }

  /** Releases this handle's storage reference and its graph links. Idempotent. */
  dispose(): void {
    if (this._ref === null) return;
    this._ref.release();
    this._ref = null;
    if (this.node) { this.node.unref(); this.node = null; }
    if (this.grad) { this.grad.dispose(); this.grad = null; }
    untrack(this);
  }

  /** Removes this tensor from the enclosing tidy scopes so it outlives them. */
  keep(): this { untrack(this); return this; }

  toString(): string { return `Tensor(${fmtShape(this.shape)}, ${this.dtype}, ${this._ref ? this._ref.backend.label : 'disposed'})`; }
}

// ---- tidy scopes -------------------------------------------------------------------------------

const scopes: Set<Tensor>[] = [];

function trackInScope(t: Tensor): void {
  if (scopes.length > 0) scopes[scopes.length - 1].add(t);
}
function untrack(t: Tensor): void {
  for (const s of scopes) s.delete(t);
}

type TensorContainer = Tensor | TensorContainer[] | { [k: string]: TensorContainer } | number | string | boolean | null | undefined | void;

function collect(x: unknown, out: Set<Tensor>): void {
  if (x instanceof Tensor) out.add(x);
  else if (Array.isArray(x)) x.forEach((v) => collect(v, out));
  else if (x !== null && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype) {
    Object.values(x).forEach((v) => collect(v, out));
  }
}

/**
 * Runs fn and disposes every tensor it created, except those it returns (in a tensor, array or
 * plain object) and those kept with `keep()`. Returned tensors move to the enclosing scope. When fn
 * throws, everything it created (and did not keep) is disposed before the error propagates.
 */
export function tidy<T extends TensorContainer>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    for (const t of scope) t.dispose(); // a failed scope returns nothing, so it keeps nothing
    throw e;
  } finally {
    scopes.pop();
  }
  const keep = new Set<Tensor>();
  collect(result, keep);
  for (const t of scope) if (!keep.has(t)) t.dispose();
  for (const t of keep) if (scope.has(t)) trackInScope(t);
  return result;
}

/** Async variant of tidy for code that awaits (for example reading a loss value). */
export async function tidyAsync<T extends TensorContainer>(fn: () => Promise<T>): Promise<T> {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    for (const t of scope) t.dispose();
    throw e;
  } finally {
    const i = scopes.lastIndexOf(scope);
    if (i >= 0) scopes.splice(i, 1);
  }
  const keep = new Set<Tensor>();
  collect(result, keep);
  for (const t of scope) if (!keep.has(t)) t.dispose();
  for (const t of keep) if (scope.has(t)) trackInScope(t);
  return result;
}

// ---- grad mode ---------------------------------------------------------------------------------

let gradEnabled = true;

export function isGradEnabled(): boolean { return gradEnabled; }

/** Runs fn with autograd recording switched off. */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try { return fn(); } finally { gradEnabled = prev; }
}
