/**
 * Reverse-mode autograd. Each op call that involves a tensor requiring grad records a Node: the
 * op's definition, its attributes, edges to the inputs' nodes (or leaf tensors) and the values the
 * backward rule needs. Nodes are reference-counted by the tensors and nodes that use them, so
 * disposing a result without calling backward frees the saved values, and backward frees each
 * node's saved values as soon as its rule has run (unless retainGraph).
 */
import { ArgumentError, EngineError, fmtShape } from './errors.js';
import { Tensor, noGrad, tidy } from './tensor.js';
import type { OpDef } from './ops/registry.js';

type Edge = Node | Tensor | null;

export class Node {
  private refs = 1;
  /** Saved values released (by backward or free): backward cannot run through this node again. */
  private freed = false;
  /** Links to input nodes dropped (last reference gone). */
  private unlinked = false;

  constructor(
    readonly def: OpDef<any>,
    readonly attrs: any,
    readonly edges: Edge[],
    /** Saved inputs (null where the rule does not need them), output and aux, as private handles. */
    private saved: { inputs: (Tensor | null)[]; output: Tensor | null; aux: Tensor[] },
    readonly inputShapes: (readonly number[])[],
    readonly outShape: readonly number[],
  ) {
    for (const e of edges) if (e instanceof Node) e.ref();
  }

  ref(): void { this.refs++; }

  unref(): void {
    if (--this.refs === 0) this.free();
  }

  /** Drops saved values and the links to input nodes. */
  free(): void {
    if (this.unlinked) return;
    this.unlinked = true;
    this.releaseSaved();
    for (const e of this.edges) if (e instanceof Node) e.unref();
  }

  /** Runs this node's backward rule for output gradient g. */
  backward(g: Tensor): (Tensor | null)[] {
    if (this.freed) {
      throw new EngineError('backward', `the graph through ${this.def.name} was already freed by an earlier backward(); pass { retainGraph: true } to backward twice`);
    }
    const needs = this.edges.map((e) => e !== null);
    return this.def.backward!(g, {
      inputs: this.saved.inputs,
      output: this.saved.output,
      aux: this.saved.aux,
      attrs: this.attrs,
      inputShapes: this.inputShapes,
      needs,
    });
  }

  /** Saved values are released after backward unless the graph is retained. */
  releaseSaved(): void {
    this.saved.inputs.forEach((t) => t?.dispose());
    this.saved.output?.dispose();
    this.saved.aux.forEach((t) => t.dispose());
    this.saved = { inputs: [], output: null, aux: [] };
    this.freed = true;
  }
}

export interface BackwardOptions {
  /** Gradient of the output (default: 1 for a one-element output). */
  grad?: Tensor;
  /** Keep saved values so backward can run again through the same graph. */
  retainGraph?: boolean;
}

/** Accumulates d(root)/d(leaf) into `leaf.grad` for every leaf requiring grad. */
export function backward(root: Tensor, opts: BackwardOptions = {}): void {
  root.ref('backward');
  if (!root.requiresGrad) throw new ArgumentError('backward', `tensor ${fmtShape(root.shape)} does not require grad (no input had requiresGrad = true)`);
  if (opts.grad === undefined && root.size !== 1) {
    throw new ArgumentError('backward', `output has shape ${fmtShape(root.shape)}; pass { grad } for a non-scalar output`);
  }
  if (opts.grad && (opts.grad.shape.length !== root.shape.length || opts.grad.shape.some((d, i) => d !== root.shape[i]))) {
    throw new ArgumentError('backward', `grad shape ${fmtShape(opts.grad.shape)} differs from output shape ${fmtShape(root.shape)}`);
  }
  noGrad(() => tidy(() => {
    const seed = opts.grad ? opts.grad.detach() : fullLike(root, 1);
    if (root.node === null) { accumulateLeaf(root, seed); return; }
    const order = topoOrder(root.node);
    const grads = new Map<Node, Tensor>([[root.node, seed]]);
    for (const node of order) {
      const g = grads.get(node);
      if (!g) continue;
      grads.delete(node);
      // Rules may hand back g itself, or one tensor for several inputs (add): give each
      // destination its own handle on the shared storage so each can be disposed on its own.
      const seen = new Set<Tensor>([g]);
      const inGrads = node.backward(g).map((gi) => {
        if (!gi) return gi;
        if (seen.has(gi)) return gi.detach();
        seen.add(gi);
        return gi;
      });
      g.dispose();
      node.edges.forEach((edge, i) => {
        const gi = inGrads[i];
        if (edge === null || !gi) { gi?.dispose(); return; }
        if (edge instanceof Node) {
          const prev = grads.get(edge);
          if (prev) { grads.set(edge, addGrad(prev, gi)); prev.dispose(); gi.dispose(); } else grads.set(edge, gi);
        } else accumulateLeaf(edge, gi);
      });
      if (!opts.retainGraph) node.releaseSaved();
    }
  }));
}

function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  leaf.ref('backward (accumulating into a leaf)');
  if (leaf.grad === null) { leaf.grad = g.keep(); return; }
  const sum = addGrad(leaf.grad, g).keep();
  leaf.grad.dispose();
  g.dispose();
  leaf.grad = sum;
}

function topoOrder(root: Node): Node[] {
  const seen = new Set<Node>();
  const post: Node[] = [];
  // Iterative DFS: ResNet graphs are deep enough to overflow a recursive one.
  const stack: [Node, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [node, i] = top;
    if (i < node.edges.length) {
      top[1]++;
      const e = node.edges[i];
      if (e instanceof Node && !seen.has(e)) { seen.add(e); stack.push([e, 0]); }
    } else {
      stack.pop();
      post.push(node);
    }
  }
  return post.reverse();
}

// Wired by ops/index.ts to avoid an import cycle (autograd needs two ops; ops need Node).
let addGrad: (a: Tensor, b: Tensor) => Tensor;
let fullLike: (t: Tensor, v: number) => Tensor;
export function wireAutogradOps(add: typeof addGrad, full: typeof fullLike): void {
  addGrad = add;
  fullLike = full;
}
