/**
 * SimCLR building blocks: GPU augmentations, the projection head, and the dataset readers /
 * batch loader. The trainer and evaluation arrive with the remaining SimCLR issues.
 */
export { ProjectionHead, BatchNorm1dNoBeta, type ProjectionHeadOptions, type BatchNormNoBetaOptions } from './head.js';
export * from './data/index.js';
export * from './augment.js';
export { knnEvaluate, type KnnOptions, type KnnResult } from './knn.js';
export * from './checkpoint.js';
export { train, validateConfig, TrainingError, DEFAULT_TRAIN_CONFIG, type TrainConfig, type TrainHooks, type TrainResult, type StepMetrics, type EpochMetrics } from './train.js';
export { exportEncoder, exportEncoderFromCheckpoint, ENCODER_FORMAT, type ExportReport } from './export.js';
