/**
 * The contrastive framework in Node (the package's `node` condition of `simclr-webgpu/simclr`):
 * everything of simclr/browser.ts (augmentations, heads, in-memory data and the loader, the method
 * contract and its methods, the shared trainer, kNN, the encoder file's bytes) plus the dataset
 * readers, checkpoints, the directory sink (`train`) and the encoder export to disk.
 */
export * from './browser.js';
export * from './data/index.js';
export * from './checkpoint.js';
export { train, DirectorySink, DEFAULT_TRAIN_CONFIG } from './train.js';
export { exportEncoder, exportEncoderFromCheckpoint, type ExportReport } from './export.js';
