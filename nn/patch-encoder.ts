/**
 * CPC's encoder of a whole image: the image is cut into its grid of overlapping patches
 * (engine/ops/patches.ts), a network encodes every patch on its own (a ResNet with layer norm, so no
 * patch sees another through batch statistics), and the representation for evaluation is the mean
 * of the patch embeddings over the grid, [N, features]. The wrapped network's modules are this
 * module's own children, so the state dict has the network's names (a ResNet's torchvision names).
 */
import { ArgumentError, ShapeError, fmtShape } from '../engine/errors.js';
import type { Tensor } from '../engine/tensor.js';
import { mean, patchGrid, reshape, unfoldPatches } from '../engine/ops/index.js';
import { Module } from './module.js';

/** A network of patches [P, C, size, size] -> [P, features] (a ResNet without fc). */
export interface PatchNetwork {
  readonly features: number;
  forward(x: Tensor): Tensor;
  namedChildren(): [string, Module][];
}

export class PatchEncoder extends Module {
  readonly features: number;

  constructor(readonly network: PatchNetwork, readonly patchSize: number, readonly patchStride: number) {
    super();
    if (!(Number.isInteger(patchSize) && patchSize > 0 && Number.isInteger(patchStride) && patchStride > 0)) {
      throw new ArgumentError('PatchEncoder', `patch size and stride must be positive integers, got ${patchSize} and ${patchStride}`);
    }
    for (const [name, child] of network.namedChildren()) this.registerModule(name, child);
    this.features = network.features;
  }

  /** The patch grid [rows, cols] of an H x W image. */
  grid(height: number, width: number): [number, number] {
    return patchGrid(height, width, { size: this.patchSize, stride: this.patchStride });
  }

  /** Embeddings [P, features] of patches [P, C, size, size] (already cut, e.g. augmented one by one). */
  embed(patches: Tensor): Tensor {
    if (patches.rank !== 4 || patches.shape[2] !== this.patchSize || patches.shape[3] !== this.patchSize) {
      throw new ShapeError('PatchEncoder', `expected patches [P, C, ${this.patchSize}, ${this.patchSize}], got ${fmtShape(patches.shape)}`);
    }
    return this.network.forward(patches);
  }

  /** The representation of images [N, C, H, W]: the mean patch embedding, [N, features]. */
  forward(x: Tensor): Tensor {
    if (x.rank !== 4) throw new ShapeError('PatchEncoder', `expected images [N, C, H, W], got ${fmtShape(x.shape)}`);
    const [gh, gw] = this.grid(x.shape[2], x.shape[3]);
    const h = this.embed(unfoldPatches(x, { size: this.patchSize, stride: this.patchStride }));
    return mean(reshape(h, [x.shape[0], gh * gw, this.features]), 1);
  }
}
