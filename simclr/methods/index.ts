/**
 * The methods (one file each) and the configuration they resolve: common defaults < the method's
 * defaults < what the caller gives. `resolveTrainConfig` is the one place a configuration is
 * completed and checked, for the command line and library callers alike.
 */
import { COMMON_DEFAULTS, ConfigError, METHOD_NAMES, validateConfig, type MethodName, type TrainConfig } from '../config.js';
import { amdim } from './amdim.js';
import { byol } from './byol.js';
import { cpc } from './cpc.js';
import type { Method } from './method.js';
import { moco } from './moco.js';
import { simclr } from './simclr.js';
import { yadim } from './yadim.js';

export const METHODS: Readonly<Record<MethodName, Method>> = { simclr, moco, byol, amdim, cpc, yadim };

export function methodOf(name: unknown): Method {
  if (typeof name !== 'string' || !(METHOD_NAMES as readonly string[]).includes(name)) {
    throw new ConfigError(`method must be one of ${METHOD_NAMES.join(', ')}, got ${JSON.stringify(name)}`);
  }
  return METHODS[name as MethodName];
}

/** Everything but data and out, for one method: common defaults with the method's recipe over them. */
export function methodDefaults(name: MethodName): Omit<TrainConfig, 'data' | 'out'> {
  return { ...COMMON_DEFAULTS, ...methodOf(name).defaults, method: name };
}

/** What a library caller passes to train(): data and out, and any other key to override the method's defaults. */
export type TrainOptions = Partial<TrainConfig> & Pick<TrainConfig, 'data' | 'out'>;

/** Completes `given` with its method's defaults and checks every value against the schema. */
export function resolveTrainConfig(given: TrainOptions): TrainConfig {
  const method = methodOf(given.method ?? 'simclr');
  const c = { ...methodDefaults(method.name), ...given } as TrainConfig;
  validateConfig(c, 'train config');
  return c;
}

export type { Method, MethodRun, MethodSetup, StepInfo, MethodLoss, EncoderShape } from './method.js';
export { MethodState, viewRecipes, buildEncoder, trainableOf } from './method.js';
