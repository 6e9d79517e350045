import { elementwiseCases } from './elementwise.js';
import type { OpCase } from './types.js';

export const allCases: OpCase[] = [...elementwiseCases];
export type { OpCase };
