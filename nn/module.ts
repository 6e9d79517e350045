/**
 * Module: named parameters, buffers and child modules, train/eval mode and state dicts, as in
 * PyTorch. Parameters are ordinary tensors with requiresGrad, each tagged with a role ('weight',
 * 'bias', 'bn') so optimizers such as LARS can treat BN parameters and biases apart without
 * parsing names. Buffers (BatchNorm's running statistics) are tensors without gradients that are
 * saved in the state dict. Optimizers and BatchNorm update both in place with Tensor.assign(), so
 * the handles returned by parameters() / stateDict() stay valid across training steps.
 */
import { StorageRef, Tensor, noGrad } from '../engine/tensor.js';
import { ArgumentError, fmtShape } from '../engine/errors.js';
import { toTypedArray } from '../engine/dtype.js';
import { cast, clone } from '../engine/ops/index.js';

/**
 * What a parameter is for: 'weight' (conv and linear weights), 'bias' (conv and linear biases),
 * 'bn' (the affine gamma and beta of normalization layers), 'other'.
 */
export type ParamRole = 'weight' | 'bias' | 'bn' | 'other';

export const PARAM_ROLES: readonly ParamRole[] = ['weight', 'bias', 'bn', 'other'];

/** A parameter with its dotted name, its role and the module that owns it. */
export interface ParameterInfo {
  name: string;
  tensor: Tensor;
  role: ParamRole;
  module: Module;
}

/**
 * Values on the host, such as a decoded safetensors entry: any numeric array of `shape`'s size.
 * loadStateDict uploads them onto the backend of the tensor they replace.
 */
export interface HostTensor {
  dtype: string;
  shape: readonly number[];
  data: ArrayLike<number>;
}

export type StateDictValue = Tensor | HostTensor;
/** A state dict: dotted torchvision-style names to tensors (or host values when loading). */
export type StateDict = Map<string, Tensor>;
export type StateDictLike = ReadonlyMap<string, StateDictValue> | Readonly<Record<string, StateDictValue>>;

export interface LoadStateDictOptions {
  /** true (default): any missing, unexpected or mismatched key throws and nothing is loaded. */
  strict?: boolean;
}

export interface LoadStateDictReport {
  /** Keys the module has that the dict lacks (left unchanged). */
  missingKeys: string[];
  /** Keys in the dict the module does not have (ignored). */
  unexpectedKeys: string[];
  /** Keys present on both sides whose shapes (or element counts) differ (left unchanged). */
  mismatchedKeys: { key: string; expected: number[]; got: number[] }[];
  /** Keys whose values were copied in. */
  loadedKeys: string[];
}

/** Thrown by a strict loadStateDict; carries the full report. */
export class StateDictError extends ArgumentError {
  constructor(readonly report: LoadStateDictReport, detail: string) { super('loadStateDict', detail); }
}

function checkName(kind: string, name: string): void {
  if (typeof name !== 'string' || name === '' || name.includes('.')) {
    throw new ArgumentError('Module', `${kind} name must be a non-empty string without '.', got '${String(name)}'`);
  }
}

function toEntries(dict: StateDictLike): [string, StateDictValue][] {
  if (dict instanceof Map) return [...dict.entries()];
  return Object.entries(dict as Record<string, StateDictValue>);
}

export abstract class Module {
  training = true;
  private readonly _params = new Map<string, { tensor: Tensor; role: ParamRole }>();
  private readonly _buffers = new Map<string, Tensor>();
  private readonly _children = new Map<string, Module>();

  abstract forward(x: Tensor): Tensor;

  /** Same as forward; reads better at call sites: `model.call(x)`. */
  call(x: Tensor): Tensor { return this.forward(x); }

  private checkFree(kind: string, name: string): void {
    checkName(kind, name);
    if (this._params.has(name) || this._buffers.has(name) || this._children.has(name)) {
      throw new ArgumentError('Module', `name '${name}' registered twice`);
    }
  }

  /**
   * Adds a trainable tensor (f32; requiresGrad is switched on) under `name` with its role. The
   * module owns it from now on (it is removed from tidy scopes; dispose() releases it).
   */
  protected registerParameter(name: string, t: Tensor, role: ParamRole = 'weight'): Tensor {
    this.checkFree('parameter', name);
    if (!PARAM_ROLES.includes(role)) throw new ArgumentError('Module', `unknown parameter role '${String(role)}' for '${name}'`);
    t.requiresGrad = true;
    this._params.set(name, { tensor: t.keep(), role });
    return t;
  }

  /** Adds a state tensor without gradient (running statistics, counters) saved in the state dict. */
  protected registerBuffer(name: string, t: Tensor): Tensor {
    this.checkFree('buffer', name);
    this._buffers.set(name, t.keep());
    return t;
  }

  protected registerModule<M extends Module>(name: string, m: M): M {
    this.checkFree('module', name);
    if (!(m instanceof Module)) throw new ArgumentError('Module', `child '${name}' is not a Module`);
    this._children.set(name, m);
    return m;
  }

  /**
   * Brings lazily kept state up to date before buffers are read (BatchNorm counts batches on the
   * host and writes num_batches_tracked only when asked). Subclasses override; the default does
   * nothing.
   */
  protected syncState(): void {}

  private syncAll(): void {
    for (const [, m] of this.namedModules()) m.syncState();
  }

  /** Parameters with dotted names, depth first, in registration order. */
  namedParameters(prefix = ''): [string, Tensor][] {
    return this.parameterInfos(prefix).map((p) => [p.name, p.tensor]);
  }

  parameters(): Tensor[] { return this.parameterInfos().map((p) => p.tensor); }

  /** Parameters with names, roles and owning modules: what LARS-style optimizers group by. */
  parameterInfos(prefix = ''): ParameterInfo[] {
    const out: ParameterInfo[] = [...this._params].map(([n, p]) => ({ name: prefix + n, tensor: p.tensor, role: p.role, module: this }));
    for (const [n, c] of this._children) out.push(...c.parameterInfos(`${prefix}${n}.`));
    return out;
  }

  /** The role of one of this module tree's parameters, or undefined if `t` is not one. */
  roleOf(t: Tensor): ParamRole | undefined {
    return this.parameterInfos().find((p) => p.tensor === t)?.role;
  }

  /** Buffers with dotted names, depth first, in registration order. */
  namedBuffers(prefix = ''): [string, Tensor][] {
    this.syncAll();
    return this.collectBuffers(prefix);
  }

  private collectBuffers(prefix: string): [string, Tensor][] {
    const out: [string, Tensor][] = [...this._buffers].map(([n, t]) => [prefix + n, t]);
    for (const [n, c] of this._children) out.push(...c.collectBuffers(`${prefix}${n}.`));
    return out;
  }

  buffers(): Tensor[] { return this.namedBuffers().map(([, t]) => t); }

  namedChildren(): [string, Module][] { return [...this._children]; }

  children(): Module[] { return [...this._children.values()]; }

  /** This module (name '') and every descendant with its dotted name, depth first. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, c] of this._children) out.push(...c.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  /** The descendant at a dotted path ('layer1.0.bn1'); throws naming the path if there is none. */
  getSubmodule(path: string): Module {
    let m: Module = this;
    if (path === '') return m;
    for (const part of path.split('.')) {
      const next = m._children.get(part);
      if (!next) throw new ArgumentError('Module', `no submodule '${path}' (missing '${part}')`);
      m = next;
    }
    return m;
  }

  /** Total element count of the parameters. */
  numParameters(): number { return this.parameters().reduce((s, p) => s + p.size, 0); }

  /**
   * The state as PyTorch names it: for each module its parameters, then its buffers, then its
   * children's entries, with dotted names. The tensors are the module's own (not copies): do not
   * dispose them; they stay valid as training updates them in place.
   */
  stateDict(prefix = ''): StateDict {
    this.syncAll();
    const out: StateDict = new Map();
    this.collectState(prefix, out);
    return out;
  }

  private collectState(prefix: string, out: StateDict): void {
    for (const [n, p] of this._params) out.set(prefix + n, p.tensor);
    for (const [n, t] of this._buffers) out.set(prefix + n, t);
    for (const [n, c] of this._children) c.collectState(`${prefix}${n}.`, out);
  }

  /**
   * Copies values into the module's parameters and buffers (the handles stay the same). Values may
   * be tensors on the same backend (copied, cast to the target dtype) or host arrays such as
   * loadSafetensors returns (uploaded to the target's backend). Reports keys the module has that
   * the dict lacks (missing), keys it does not know (unexpected) and shape mismatches. With strict
   * (the default) any of these throws a StateDictError listing them all, before anything is
   * copied; otherwise everything that fits is loaded and the report is returned.
   */
  loadStateDict(dict: StateDictLike, opts: LoadStateDictOptions = {}): LoadStateDictReport {
    const strict = opts.strict ?? true;
    const own = this.stateDict();
    const entries = toEntries(dict);
    const given = new Map(entries);
    const report: LoadStateDictReport = { missingKeys: [], unexpectedKeys: [], mismatchedKeys: [], loadedKeys: [] };
    const plan: [Tensor, StateDictValue, string][] = [];
    for (const [key, target] of own) {
      const v = given.get(key);
      if (v === undefined) { report.missingKeys.push(key); continue; }
      const shape = [...v.shape];
      const sameShape = shape.length === target.shape.length && shape.every((d, i) => d === target.shape[i]);
      if (!sameShape) { report.mismatchedKeys.push({ key, expected: [...target.shape], got: shape }); continue; }
      if (!(v instanceof Tensor) && v.data.length !== target.size) {
        report.mismatchedKeys.push({ key, expected: [...target.shape], got: shape });
        continue;
      }
      plan.push([target, v, key]);
    }
    for (const [key] of entries) if (!own.has(key)) report.unexpectedKeys.push(key);

    const problems: string[] = [];
    if (report.missingKeys.length) problems.push(`missing keys (${report.missingKeys.length}): ${report.missingKeys.join(', ')}`);
    if (report.unexpectedKeys.length) problems.push(`unexpected keys (${report.unexpectedKeys.length}): ${report.unexpectedKeys.join(', ')}`);
    if (report.mismatchedKeys.length) {
      problems.push(`shape mismatches (${report.mismatchedKeys.length}): ${report.mismatchedKeys
        .map((m) => `${m.key} expected ${fmtShape(m.expected)} got ${fmtShape(m.got)}`).join(', ')}`);
    }
    if (strict && problems.length) throw new StateDictError(report, `state dict does not match the module: ${problems.join('; ')}`);

    // Check every tensor value before copying anything, so a bad one leaves the module untouched.
    for (const [target, v, key] of plan) {
      if (v instanceof Tensor) {
        if (v.isDisposed) throw new ArgumentError('loadStateDict', `value for '${key}' was disposed`);
        if (v.backend !== target.backend) {
          throw new ArgumentError('loadStateDict', `value for '${key}' lives on another backend (${v.backend.label}) than the module (${target.backend.label}): move it with toBackend() or pass host arrays`);
        }
      }
    }
    noGrad(() => {
      for (const [target, v, key] of plan) {
        let fresh: Tensor;
        if (v instanceof Tensor) fresh = v.dtype === target.dtype ? clone(v) : cast(v, target.dtype);
        else {
          const backend = target.backend;
          fresh = new Tensor(new StorageRef(backend, backend.upload(toTypedArray(target.dtype, v.data))), target.shape, target.dtype, false);
        }
        target.assign(fresh);
        fresh.dispose();
        report.loadedKeys.push(key);
      }
    });
    return report;
  }

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

  /** Releases every parameter (and its gradient) and buffer. */
  dispose(): void {
    for (const [, m] of this.namedModules()) {
      for (const p of m._params.values()) p.tensor.dispose();
      for (const b of m._buffers.values()) b.dispose();
    }
  }
}
