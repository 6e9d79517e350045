/**
 * SimCLR trainer (augmentations, projection head, NT-Xent, LARS, pretraining and evaluation).
 * Not built yet: it arrives with the SimCLR issues. This entry point exists so the package's
 * `./simclr` subpath export resolves; it exports nothing today.
 */
export {};
export * from './data/index.js';
