import { elementwiseCases } from './elementwise.js';
import { movementCases } from './movement.js';
import { matmulCases } from './matmul.js';
import { reduceCases } from './reduce.js';
import { softmaxCases } from './softmax.js';
import { gatherCases } from './gather.js';
import { normCases } from './norm.js';
import { poolCases } from './pool.js';
import { convCases } from './conv.js';
import { ntxentCases } from './ntxent.js';
import { infonceCases } from './infonce.js';
import { optimCases } from './optim.js';
import { featureMapCases } from './featuremaps.js';
import type { OpCase } from './types.js';

export const allCases: OpCase[] = [...elementwiseCases, ...movementCases, ...matmulCases, ...reduceCases, ...softmaxCases, ...gatherCases, ...normCases, ...poolCases, ...convCases, ...ntxentCases, ...infonceCases, ...optimCases, ...featureMapCases];
export type { OpCase };
