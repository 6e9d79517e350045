/** Registers every op (importing a module defines its ops) and re-exports their functions. */
import { wireAutogradOps } from '../autograd.js';
import { add } from './elementwise.js';
import { fullLike } from './creation.js';

export * from './creation.js';
export * from './elementwise.js';
export * from './matmul.js';
export * from './reduce.js';
export * from './softmax.js';
export * from './gather.js';
export * from './movement.js';
export * from './conv.js';
export * from './norm.js';
export * from './pool.js';
export * from './l2normalize.js';
export * from './ntxent.js';
export * from './infonce.js';
export * from './optim.js';
export * from './patches.js';
export * from './layernorm.js';
export * from './nce.js';
export { listOps, type OpDef } from './registry.js';

wireAutogradOps((a, b) => add(a, b), fullLike);
