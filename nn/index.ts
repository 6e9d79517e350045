/** Neural-network modules and optimizers: `import { Linear, SGD } from 'simclr-webgpu/nn'`. */
export { Module } from './module.js';
export { Linear, ReLU, Sequential, type LinearOptions } from './layers.js';
export { SGD, type SGDOptions } from './optim.js';
