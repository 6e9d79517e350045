/**
 * One elementwise update over many small tensors instead of one dispatch each. Every dispatch has a
 * fixed cost (about 40 us on lavapipe), more than updating a tensor of a few thousand elements
 * takes, and most of a network's parameter tensors by count are small: 43 of ResNet-18's 62 hold
 * at most 5,120 elements (batch norm, biases, the stem). SGD over those 43 alone took 3-5 ms as 43
 * dispatches and 0.9 ms packed; over all 62, 24 -> 22-23 ms. Packing flattens and concatenates
 * each operand of the small tensors (contiguous runs, so buffer-to-buffer copies, no kernel), runs
 * the update once over the concatenation and copies each tensor's part of the results back into it
 * (Tensor.assign(flat, from), copies again). Exact: the update is elementwise, so each element sees
 * the same arithmetic as in its own dispatch.
 *
 * Used by the optimizers (optim.ts, lars.ts) and the moving average (ema.ts).
 */
import { concat, reshape, slice } from '../engine/ops/index.js';
import type { Tensor } from '../engine/tensor.js';

/** Tensors of at most this many elements are packed; larger ones keep a dispatch of their own. */
export const PACK_MAX_ELEMENTS = 16384;

/**
 * Groups items for updates: an item larger than PACK_MAX_ELEMENTS, or whose key is null, forms a
 * group of its own; small items with equal keys (e.g. "has momentum state") form one group, in
 * their original order.
 */
export function packGroups<T>(items: readonly T[], size: (x: T) => number, key: (x: T) => string | null): T[][] {
  const groups: T[][] = [];
  const byKey = new Map<string, T[]>();
  for (const x of items) {
    const k = size(x) <= PACK_MAX_ELEMENTS ? key(x) : null;
    if (k === null) { groups.push([x]); continue; }
    let g = byKey.get(k);
    if (!g) { g = []; byKey.set(k, g); groups.push(g); }
    g.push(x);
  }
  return groups;
}

/**
 * operands[k][j] is operand k of tensor j (all operands of tensor j have its shape). `update` gets
 * one tensor per operand (the tensor itself for a group of one, else the flat concatenation) and
 * returns its results, each of the operands' shape (flat for a packed group). Result r of tensor j
 * goes into into[r][j] (Tensor.assign; from a packed result, its part straight from the flat
 * tensor, one copy) or, where that is absent or null, into a new tensor of tensor j's shape; the
 * return value is results[r][j], those tensors. Call inside tidy(): the packed intermediates are
 * left to it.
 */
export function packedUpdate(
  operands: readonly (readonly Tensor[])[], update: (xs: Tensor[]) => readonly Tensor[], into: readonly (readonly (Tensor | null)[])[] = [],
): Tensor[][] {
  const count = operands[0].length;
  if (count === 1) return update(operands.map((ts) => ts[0])).map((r, i) => [into[i]?.[0]?.assign(r) ?? r]);
  const starts: number[] = [];
  let total = 0;
  for (const t of operands[0]) { starts.push(total); total += t.size; }
  const flat = operands.map((ts) => {
    const views = ts.map((t) => reshape(t, [t.size]));
    const packed = concat(views, 0);
    // views share their tensors' storage: gone now, the results can be copied into it (Tensor.assign)
    for (const v of views) v.dispose();
    return packed;
  });
  return update(flat).map((r, i) => operands[0].map((t, j) => into[i]?.[j]?.assign(r, starts[j]) ?? reshape(slice(r, [starts[j]], [t.size]), t.shape)));
}
