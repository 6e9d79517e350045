/**
 * The optimizer contract. Every optimizer (SGD, LARS, Adam, AdamW) takes the same parameter
 * description, a Module (its parameterInfos(): names and roles) or a list whose items are tensors or
 * { tensor, role?, name? }, and turns it into slots. State lives per slot under fixed keys
 * (`slotKeys`, e.g. 'momentum'; 'exp_avg' and 'exp_avg_sq') plus optimizer-wide tensors
 * (`globalKeys`, e.g. Adam's 'step'), and is saved as '<key>.<slot index>' and '<global key>'
 * (the names checkpoints have always used). A subclass writes `step()` and nothing else.
 *
 * Bare tensors carry no role. An optimizer that treats parameters by role (LARS excludes BN
 * parameters and biases) refuses them at construction, naming the first one, instead of guessing.
 */
import { ArgumentError } from '../engine/errors.js';
import { Tensor, noGrad, tidy } from '../engine/tensor.js';
import { cast, mul, reshape } from '../engine/ops/index.js';
import { Module, PARAM_ROLES, type ParamRole } from './module.js';
import { packGroups, packedUpdate } from './packed-update.js';

/** One parameter as an optimizer may be given it. */
export interface ParamSpec { tensor: Tensor; role?: ParamRole; name?: string }

/** What every optimizer takes: a Module, or parameters as tensors or { tensor, role, name }. */
export type ParamsInput = Module | readonly (Tensor | ParamSpec)[];

export interface Slot {
  readonly tensor: Tensor;
  /** null: given as a bare tensor, role unknown. */
  readonly role: ParamRole | null;
  /** The dotted name when known, else 'param<i>'. */
  readonly name: string;
  readonly index: number;
}

/** Normalizes a ParamsInput into slots, refusing empty lists, duplicates, non-tensors and non-f32. */
export function toSlots(who: string, params: ParamsInput): Slot[] {
  if (params instanceof Module) {
    return params.parameterInfos().map((p, index) => ({ tensor: p.tensor, role: p.role, name: p.name, index }));
  }
  if (!Array.isArray(params)) throw new ArgumentError(who, 'params must be a Module or an array of tensors / { tensor, role }');
  const seen = new Set<Tensor>();
  const slots = params.map((p: Tensor | ParamSpec, index): Slot => {
    const spec: ParamSpec | null = p instanceof Tensor ? { tensor: p } : p && typeof p === 'object' && p.tensor instanceof Tensor ? p : null;
    if (!spec) throw new ArgumentError(who, `parameter ${index} is neither a Tensor nor { tensor, role }`);
    const t = spec.tensor;
    if (t.isDisposed) throw new ArgumentError(who, `parameter ${index} was disposed`);
    if (t.dtype !== 'f32') throw new ArgumentError(who, `parameter ${index} is ${t.dtype}; only f32 tensors can be trained`);
    if (seen.has(t)) throw new ArgumentError(who, `parameter ${index} is given twice`);
    seen.add(t);
    if (spec.role !== undefined && !PARAM_ROLES.includes(spec.role)) throw new ArgumentError(who, `parameter ${index} has unknown role '${String(spec.role)}'`);
    return { tensor: t, role: spec.role ?? null, name: spec.name ?? `param${index}`, index };
  });
  if (slots.length === 0) throw new ArgumentError(who, 'no parameters to optimize');
  return slots;
}

export abstract class Optimizer {
  /** Learning rate of the next step (the trainer sets it from the schedule before every step). */
  lr: number;
  readonly slots: readonly Slot[];
  /** Per-slot state tensors by key (owned by the optimizer). */
  protected readonly state: Map<string, Tensor>[];
  /** Optimizer-wide state tensors by key (owned by the optimizer). */
  protected readonly globals = new Map<string, Tensor>();
  /** State keys each slot has once it has taken a step, all or none. */
  protected abstract readonly slotKeys: readonly string[];
  /** Optimizer-wide state keys (0-d scalars such as a step count), required by loadStateDict. */
  protected readonly globalKeys: readonly string[] = [];

  constructor(readonly who: string, params: ParamsInput, lr: number, opts: { needsRoles?: boolean } = {}) {
    if (!(typeof lr === 'number' && lr >= 0)) throw new ArgumentError(who, `lr must be a number >= 0, got ${String(lr)}`);
    this.slots = toSlots(who, params);
    if (opts.needsRoles) {
      const bare = this.slots.find((s) => s.role === null);
      if (bare) {
        throw new ArgumentError(who, `parameter ${bare.index} has no role; ${who} treats parameters by role (bn, bias), so pass the Module or module.parameterInfos() (or { tensor, role } items)`);
      }
    }
    this.state = this.slots.map(() => new Map());
    this.lr = lr;
  }

  /** The parameters, in slot order. */
  get params(): Tensor[] { return this.slots.map((s) => s.tensor); }

  /** Applies one update from the parameters' gradients (no read-back). */
  abstract step(): void;

  /** Creates a global state tensor on first use (e.g. Adam's step count). */
  protected global(key: string, create: () => Tensor): Tensor {
    let t = this.globals.get(key);
    if (!t || t.isDisposed) { t = noGrad(create).keep(); this.globals.set(key, t); }
    return t;
  }

  /**
   * One step over the parameters that have a gradient. `update` gets [param, grad, then the state
   * under each of slotKeys once the slot has any] and returns [new param, then the state to keep
   * under each slot key (or nothing)]: one fused update op. Small parameters for which `packs`
   * holds (default all) share one call, packed (packed-update.ts), so long as they agree on having
   * state; `update`'s second argument is the group's first slot. Call inside noGrad(tidy()).
   */
  protected updateGroups(update: (xs: Tensor[], first: Slot) => readonly Tensor[], packs: (s: Slot) => boolean = () => true): void {
    const hasState = (s: Slot) => this.state[s.index].size > 0;
    const live = this.slots.filter((s) => s.tensor.grad);
    for (const group of packGroups(live, (s) => s.tensor.size, (s) => (packs(s) ? String(hasState(s)) : null))) {
      const params = group.map((s) => s.tensor);
      const state = this.slotKeys.map((k) => group.map((s) => this.state[s.index].get(k) ?? null));
      const operands = [params, group.map((s) => s.tensor.grad!)];
      if (hasState(group[0])) operands.push(...(state as Tensor[][]));
      // results go into the parameters and the existing state; new state (the first step) is kept
      const [, ...next] = packedUpdate(operands, (xs) => update(xs, group[0]), [params, ...state]);
      group.forEach((s, j) => next.forEach((r, i) => this.setState(s, this.slotKeys[i], r[j])));
    }
  }

  /** Sets a slot's state entry: into the existing tensor where there is one (Tensor.assign), else t itself. */
  protected setState(slot: Slot, key: string, t: Tensor): void {
    const m = this.state[slot.index];
    const prev = m.get(key);
    if (prev === t) return;
    if (prev && !prev.isDisposed) { prev.assign(t); return; }
    m.set(key, t.keep());
  }

  zeroGrad(): void {
    for (const { tensor } of this.slots) { tensor.grad?.dispose(); tensor.grad = null; }
  }

  /**
   * The state, owned by the optimizer (do not dispose): each global key, then '<key>.<i>' for every
   * slot i that has state (PyTorch-style names such as 'momentum.3', 'exp_avg.0').
   */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const k of this.globalKeys) { const t = this.globals.get(k); if (t) out.set(k, t); }
    this.state.forEach((m, i) => { for (const k of this.slotKeys) { const t = m.get(k); if (t) out.set(`${k}.${i}`, t); } });
    return out;
  }

  /**
   * Replaces the state with copies of `state` (as stateDict() writes it). Strict: every global key
   * must be present with its shape; a slot has all of its keys or none; any other key, a shape other
   * than the parameter's, a disposed tensor or another backend throws an ArgumentError naming the
   * key, and nothing changes. Global keys missing from a state dict that never stepped are created
   * as needed by the subclass.
   */
  loadStateDict(state: ReadonlyMap<string, Tensor>): void {
    const where = `${this.who}.loadStateDict`;
    const n = this.slots.length;
    const backend = this.slots[0].tensor.backend;
    const check = (key: string, v: Tensor) => {
      if (!(v instanceof Tensor)) throw new ArgumentError(where, `'${key}' is not a Tensor`);
      if (v.isDisposed) throw new ArgumentError(where, `'${key}' was disposed`);
      if (v.backend !== backend) throw new ArgumentError(where, `'${key}' lives on another backend than the parameters`);
    };
    const globals = new Map<string, Tensor>();
    for (const k of this.globalKeys) {
      const v = state.get(k);
      if (!v) throw new ArgumentError(where, `missing key '${k}'`);
      check(k, v);
      if (v.size !== 1) throw new ArgumentError(where, `'${k}' must hold one element, got shape [${v.shape.join(', ')}]`);
      globals.set(k, v);
    }
    const perSlot = new Map<number, Map<string, Tensor>>();
    const expected = [...this.globalKeys, ...this.slotKeys.map((k) => `${k}.<i>`)].join(', ');
    for (const [key, v] of state) {
      if (this.globalKeys.includes(key)) continue;
      const m = /^([a-z_]+)\.(\d+)$/.exec(key);
      const i = m ? Number(m[2]) : -1;
      if (!m || !this.slotKeys.includes(m[1]) || !(i >= 0 && i < n)) {
        throw new ArgumentError(where, `unexpected key '${key}' (expected ${expected} for i in 0..${n - 1})`);
      }
      check(key, v);
      const p = this.slots[i].tensor;
      if (v.shape.length !== p.shape.length || v.shape.some((d, k) => d !== p.shape[k])) {
        throw new ArgumentError(where, `'${key}' has shape [${v.shape.join(', ')}] but parameter ${i} has [${p.shape.join(', ')}]`);
      }
      const slot = perSlot.get(i) ?? new Map<string, Tensor>();
      slot.set(m[1], v);
      perSlot.set(i, slot);
    }
    for (const [i, m] of perSlot) {
      for (const k of this.slotKeys) {
        if (!m.has(k)) throw new ArgumentError(where, `missing key '${k}.${i}' (state has ${[...m.keys()].map((x) => `'${x}.${i}'`).join(', ')})`);
      }
    }
    // Copy first (the state may be this optimizer's own stateDict()), then replace.
    const copy = (t: Tensor, shape: readonly number[]) => tidy(() => reshape(t.dtype === 'f32' ? mul(t, 1) : cast(t, 'f32'), shape)).keep();
    const copies = noGrad(() => ({
      globals: [...globals].map(([k, v]) => [k, copy(v, [])] as const),
      slots: [...perSlot].map(([i, m]) => [i, [...m].map(([k, v]) => [k, copy(v, this.slots[i].tensor.shape)] as const)] as const),
    }));
    this.dispose();
    for (const [k, v] of copies.globals) this.globals.set(k, v);
    for (const [i, entries] of copies.slots) for (const [k, v] of entries) this.state[i].set(k, v);
  }


  /** Releases every state tensor; the optimizer can go on (state starts afresh). */
  dispose(): void {
    for (const m of this.state) { for (const t of m.values()) t.dispose(); m.clear(); }
    for (const t of this.globals.values()) t.dispose();
    this.globals.clear();
  }
}
