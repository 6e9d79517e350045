import { elementwiseCases } from './elementwise.js';
import { movementCases } from './movement.js';
import type { OpCase } from './types.js';

export const allCases: OpCase[] = [...elementwiseCases, ...movementCases];
export type { OpCase };
