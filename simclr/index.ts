/**
 * SimCLR trainer (augmentations, projection head, NT-Xent, LARS, pretraining and evaluation).
 * Not built yet: it arrives with the SimCLR issues. This entry point exists so the package's
 * `./simclr` subpath export resolves; it exports nothing today.
 */
export {};
export { ProjectionHead, BatchNorm1dNoBeta, type ProjectionHeadOptions, type BatchNormNoBetaOptions } from './head.js';
export * from './data/index.js';
