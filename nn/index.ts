/** Neural-network modules and optimizers: `import { Linear, SGD, resnet18 } from 'simclr-webgpu/nn'`. */
export {
  Module, StateDictError, PARAM_ROLES,
  type ParamRole, type ParameterInfo, type HostTensor, type StateDict, type StateDictLike, type StateDictValue,
  type LoadStateDictOptions, type LoadStateDictReport,
} from './module.js';
export {
  Linear, Conv2d, BatchNorm1d, BatchNorm2d, LayerNorm2d, ReLU, Identity, MaxPool2d, AdaptiveAvgPool2d, Flatten, Sequential,
  type LayerOptions, type LinearOptions, type Conv2dOptions, type BatchNormOptions, type LayerNorm2dOptions, type MaxPool2dOptions,
} from './layers.js';
export * as initializers from './init.js';
export { kaimingNormal, kaimingUniform, calculateGain, fans, type KaimingOptions, type Nonlinearity, type FanMode } from './init.js';
export { ResNet, BasicBlock, Bottleneck, resnet18, resnet34, resnet50, type ResNetOptions, type ResNetStem, type ResNetNorm } from './resnet.js';
// File I/O (saveSafetensors, loadSafetensors, writeFileAtomic) is in nn/node.ts, so this module
// loads in browsers; Node resolves `simclr-webgpu/nn` to nn/node.ts, which adds them.
export {
  encodeSafetensors, decodeSafetensors, moduleToSafetensors, entryToTensor, SafetensorsDict, SafetensorsError,
  MAX_HEADER_BYTES, type SafetensorsDType, type SafetensorsEntry, type SafetensorsInput,
} from './safetensors.js';
export { MovingAverage } from './ema.js';
export type { Encoder } from './encoder.js';
export { AmdimEncoder, type AmdimEncoderOptions, type AmdimMaps } from './amdim-encoder.js';
export { CpcContext, RowCausalConv2d, type CpcContextOptions } from './cpc-context.js';
export { PatchEncoder, type PatchNetwork } from './patch-encoder.js';
export { Optimizer, toSlots, type ParamSpec, type ParamsInput, type Slot } from './optimizer.js';
export { SGD, type SGDOptions } from './optim.js';
export { Adam, AdamW, type AdamOptions } from './optim.js';
export { LARS, type LARSOptions } from './lars.js';
export {
  warmupCosineLr, warmupCosine, scaledLearningRate, warmupSteps, totalSteps,
  type WarmupCosineOptions, type LearningRateScaling,
} from './schedule.js';
