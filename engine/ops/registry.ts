/**
 * The op registry. An op is defined once, here-shaped: a shape rule, a CPU reference kernel, a
 * WebGPU kernel and a backward rule written with other ops (so it runs on any backend). Composite
 * ops (built from primitives, gradients by composition) are registered too, so that tests can
 * enumerate every op and demand a gradient check for each differentiable one.
 */
import type { Backend, Storage } from '../backend.js';
import type { DType } from '../dtype.js';
import { DeviceError, DTypeError, fmtShape } from '../errors.js';
import { Node } from '../autograd.js';
import { StorageRef, Tensor, isGradEnabled } from '../tensor.js';
import type { CpuBackend } from '../cpu/backend.js';
import type { WebGpuBackend, GpuStorage } from '../webgpu/backend.js';

export interface TensorMeta { readonly shape: readonly number[]; readonly dtype: DType }

/** Input to a CPU kernel: float64 values (integers are exact) with their metadata. */
export interface CpuInput extends TensorMeta { readonly data: Float64Array }
/** Input to a WebGPU kernel. */
export interface GpuInput extends TensorMeta { readonly storage: GpuStorage; readonly size: number }

export interface BackwardContext<A> {
  /** Saved inputs, in order (null unless the op saves them). */
  readonly inputs: readonly (Tensor | null)[];
  /** Saved output (null unless the op saves it). */
  readonly output: Tensor | null;
  readonly attrs: A;
  readonly inputShapes: readonly (readonly number[])[];
  /** Which inputs need a gradient; rules may return null for the others. */
  readonly needs: readonly boolean[];
}

export interface OpDef<A = void> {
  readonly name: string;
  /** Validates inputs and attributes and gives the output's shape and dtype. */
  shape(inputs: readonly TensorMeta[], attrs: A): TensorMeta;
  cpu(backend: CpuBackend, inputs: readonly CpuInput[], attrs: A, out: TensorMeta): Float64Array;
  webgpu(backend: WebGpuBackend, inputs: readonly GpuInput[], attrs: A, out: TensorMeta): GpuStorage;
  /** Gradients of each input given the output's gradient g; absent for non-differentiable ops. */
  backward?(g: Tensor, ctx: BackwardContext<A>): (Tensor | null)[];
  /** What backward needs kept alive: all inputs, or only those at the listed positions. */
  readonly saves?: { readonly inputs?: boolean | readonly number[]; readonly output?: boolean };
  /** Output shares input 0's storage (reshape): no kernel runs. */
  readonly view?: boolean;
}

export interface CompositeDef {
  readonly name: string;
  readonly differentiable: boolean;
}

const primitives = new Map<string, OpDef<any>>();
const composites = new Map<string, CompositeDef>();

export function defineOp<A = void>(def: OpDef<A>): OpDef<A> {
  if (primitives.has(def.name) || composites.has(def.name)) throw new Error(`op ${def.name} defined twice`);
  primitives.set(def.name, def);
  return def;
}

/** Registers a composite op's name (its function lives beside it) for the registry tests. */
export function defineComposite<F extends (...args: any[]) => any>(name: string, differentiable: boolean, fn: F): F {
  if (primitives.has(name) || composites.has(name)) throw new Error(`op ${name} defined twice`);
  composites.set(name, { name, differentiable });
  return fn;
}

export function listOps(): { name: string; kind: 'primitive' | 'composite'; differentiable: boolean }[] {
  return [
    ...[...primitives.values()].map((d) => ({ name: d.name, kind: 'primitive' as const, differentiable: d.backward !== undefined })),
    ...[...composites.values()].map((d) => ({ name: d.name, kind: 'composite' as const, differentiable: d.differentiable })),
  ];
}

export function requireF32(op: string, ...inputs: TensorMeta[]): void {
  for (const t of inputs) {
    if (t.dtype !== 'f32') throw new DTypeError(op, `expected f32 input, got ${t.dtype} ${fmtShape(t.shape)}`, t.dtype);
  }
}

/** Runs an op on its inputs' backend and records the autograd node. */
export function runOp<A>(def: OpDef<A>, inputs: readonly Tensor[], attrs: A): Tensor {
  const refs = inputs.map((t) => t.ref(def.name));
  const backend = refs[0].backend;
  for (let i = 1; i < refs.length; i++) {
    if (refs[i].backend !== backend) {
      throw new DeviceError(def.name, `inputs live on different devices: ${backend.label} and ${refs[i].backend.label}; move one with toBackend()`);
    }
  }
  const out = def.shape(inputs, attrs);
  let ref: StorageRef;
  if (def.view) ref = refs[0].retain();
  else ref = new StorageRef(backend, execute(backend, def, inputs, refs, attrs, out));
  const result = new Tensor(ref, out.shape, out.dtype);

  if (def.backward && isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
    const edges = inputs.map((t) => (t.node ?? (t.requiresGrad ? t : null)));
    const saveIn = def.saves?.inputs ?? false;
    const savedInputs = inputs.map((t, i) => (saveIn === true || (Array.isArray(saveIn) && saveIn.includes(i)) ? privateHandle(t) : null));
    const savedOutput = def.saves?.output ? privateHandle(result) : null;
    result.node = new Node(def, attrs, edges, savedInputs, savedOutput, inputs.map((t) => t.shape), out.shape);
  }
  return result;
}

function privateHandle(t: Tensor): Tensor {
  return new Tensor(t.ref('save').retain(), t.shape, t.dtype, false);
}

function execute<A>(backend: Backend, def: OpDef<A>, inputs: readonly Tensor[], refs: StorageRef[], attrs: A, out: TensorMeta): Storage {
  if (backend.kind === 'cpu') {
    const cpu = backend as CpuBackend;
    const data = def.cpu(cpu, inputs.map((t, i) => ({ shape: t.shape, dtype: t.dtype, data: cpu.view(refs[i].storage) })), attrs, out);
    return cpu.wrap(data);
  }
  const gpu = backend as WebGpuBackend;
  return def.webgpu(gpu, inputs.map((t, i) => ({ shape: t.shape, dtype: t.dtype, size: t.size, storage: refs[i].storage as GpuStorage })), attrs, out);
}
