/**
 * `simclr-webgpu/simclr` in browsers (the package's default condition): the contrastive framework
 * without file I/O: GPU augmentations, heads, in-memory image sets and the batch loader, the method
 * contract and its methods (SimCLR, MoCo v2, BYOL), the shared trainer (outputs through a RunSink),
 * encoding and the kNN monitor, checkpoint and encoder-file bytes. Node's entry (simclr/index.ts) adds the
 * file readers, checkpoints, the directory sink and the export to disk.
 */
export { ProjectionHead, BatchNorm1dNoBeta, type ProjectionHeadOptions, type BatchNormNoBetaOptions } from './head.js';
export { type ImageDataset, imageSize } from './data/image-set.js';
export { BatchLoader, type Batch, type BatchLoaderOptions, type LoaderState } from './data/loader.js';
export * from './augment.js';
export { knnEvaluate, type KnnOptions, type KnnResult } from './knn.js';
export { encodeImages, knnTop1, numClassesOf } from './eval.js';
export {
  runTraining, takeStep, buildOptimizer, TrainingError,
  type RunSink, type TrainHooks, type TrainResult, type StepMetrics, type EpochMetrics, type EpochSummary,
} from './trainer.js';
export {
  CONFIG_SCHEMA, COMMON_DEFAULTS, METHOD_NAMES, ConfigError, validateConfig, checkedConfig, configJson,
  type TrainConfig, type MethodName, type OptimizerName, type PerView, type FieldSpec,
} from './config.js';
export {
  METHODS, methodOf, methodDefaults, resolveTrainConfig, MethodState, viewRecipes, buildEncoder, trainableOf,
  type Method, type MethodRun, type MethodSetup, type StepInfo, type MethodLoss, type TrainOptions,
} from './methods/index.js';
export { ringWrite } from './methods/moco.js';
export { byolTau } from './methods/byol.js';
export { ENCODER_FORMAT, encodeEncoder, encoderEntries, encoderInputs } from './encoder-file.js';
export {
  CHECKPOINT_FORMAT, CheckpointError, encodeCheckpoint, decodeCheckpoint, restoreCheckpoint,
  type CheckpointableOptimizer, type SaveCheckpointOptions, type LoadedCheckpoint, type ResumeOptions,
} from './checkpoint-bytes.js';
export type { DataSplits } from './data/splits.js';
export { DATA_FORMATS, type DataFormat } from './data/formats.js';
