/**
 * The contrastive framework: GPU augmentations, heads, dataset readers and the batch loader, the
 * method contract and its methods (SimCLR, MoCo v2, BYOL), the shared trainer, checkpoints, kNN,
 * evaluation helpers and export.
 */
export { ProjectionHead, BatchNorm1dNoBeta, type ProjectionHeadOptions, type BatchNormNoBetaOptions } from './head.js';
export * from './data/index.js';
export * from './augment.js';
export { knnEvaluate, type KnnOptions, type KnnResult } from './knn.js';
export * from './checkpoint.js';
export { train, DirectorySink, DEFAULT_TRAIN_CONFIG } from './train.js';
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
export { exportEncoder, exportEncoderFromCheckpoint, ENCODER_FORMAT, type ExportReport } from './export.js';
