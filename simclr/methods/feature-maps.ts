/**
 * What the feature-map methods share: turning feature maps into NCE sources and targets (CPC takes
 * its rows with mapLocations too), and AMDIM's and YADIM's bidirectional comparison of two views'
 * maps (pl_bolts' FeatureMapContrastiveTask, the framework's standardized implementation).
 *
 * A map [B, d, h, w] gives targets: every location as a row, image-major, [B h w, d]; and sources:
 * one location per image drawn at random (the reference's random mask; a 1x1 map has one), [B, d].
 * compareMaps(a, b) runs featureMapNce with the sources from view 1's map a against view 2's map b,
 * then the other way round (view 2's a against view 1's b), and averages the two directions' losses
 * and regularizers.
 */
import type { Backend } from '../../engine/backend.js';
import { add, affine, featureMapNce, gather, permute, reshape, tensor } from '../../engine/ops/index.js';
import { noGrad, type Tensor } from '../../engine/tensor.js';
import type { StepInfo } from './method.js';

/** Every location of map [B, d, h, w] as a row: [B h w, d], image i's locations at rows i h w .. */
export function mapLocations(map: Tensor): Tensor {
  const [b, d, h, w] = map.shape;
  return reshape(permute(map, [0, 2, 3, 1]), [b * h * w, d]);
}

/** One location per image of map [B, d, h, w], drawn uniformly from the step's stream: [B, d]. */
export function sampleLocations(map: Tensor, at: StepInfo, backend: Backend): Tensor {
  const [b, d, h, w] = map.shape;
  const per = h * w;
  if (per === 1) return reshape(map, [b, d]);
  const loc = at.locations?.(b, per) ?? Int32Array.from({ length: b }, () => at.rng.int(per));
  const idx = tensor(Int32Array.from(loc, (l, i) => i * per + l), [b], { dtype: 'i32', backend });
  return gather(mapLocations(map), idx, 0);
}

export interface MapComparison { loss: Tensor; reg: Tensor; accuracy: Tensor }

/**
 * The NCE of view 1's map `a1` (sources) against view 2's map `b2` (targets) and of `a2` against
 * `b1`, averaged: 0.5 (l12 + l21), 0.5 (r12 + r21), and the mean accuracy.
 */
export function compareMaps(a1: Tensor, b2: Tensor, a2: Tensor, b1: Tensor, tclip: number, at: StepInfo, backend: Backend): MapComparison {
  const one = featureMapNce(sampleLocations(a1, at, backend), mapLocations(b2), { tclip });
  const two = featureMapNce(sampleLocations(a2, at, backend), mapLocations(b1), { tclip });
  const half = (x: Tensor, y: Tensor) => affine(add(x, y), 0.5, 0);
  return { loss: half(one.loss, two.loss), reg: half(one.reg, two.reg), accuracy: noGrad(() => half(one.accuracy, two.accuracy)) };
}

/** Sums comparisons: the loss is the sum of their losses plus the sum of their regularizers (as the reference). */
export function totalOf(parts: readonly MapComparison[]): { loss: Tensor; accuracy: Tensor } {
  let loss = add(parts[0].loss, parts[0].reg);
  let acc = parts[0].accuracy;
  for (const p of parts.slice(1)) {
    loss = add(add(loss, p.loss), p.reg);
    acc = noGrad(() => add(acc, p.accuracy));
  }
  return { loss, accuracy: noGrad(() => affine(acc, 1 / parts.length, 0)) };
}
