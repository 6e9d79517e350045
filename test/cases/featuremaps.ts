import * as X from '../../engine/ops/index.js';
import type { Tensor } from '../../engine/tensor.js';
import { runOp, runOpAux } from '../../engine/ops/registry.js';
import type { OpCase } from './types.js';

const rows = (n: number, d: number, low = -1, high = 1) => ({ shape: [n, d], low, high });
const vec = (n: number, low: number, high: number) => ({ shape: [n], low, high });
const nceGrad = (op: typeof X.NceGradAOp, o: X.NceAttrs) => (a: Tensor, b: Tensor, g: Tensor, l: Tensor) => runOp(op, [a, b, g, l], o);
const ATTRS = (scale: number, clip: number, rpg: number, cpg: number): X.NceAttrs => ({ scale, clip, rowsPerGroup: rpg, colsPerGroup: cpg });
const fmNce = (tclip: number) => (s: Tensor, t: Tensor) => { const r = X.featureMapNce(s, t, { tclip }); return X.add(r.loss, X.mul(r.reg, 3)); };

export const featureMapCases: OpCase[] = [
  // patch extraction: CPC's grid (patch 4 stride 2 of 8x8 gives 3x3), a grid that leaves pixels uncovered, non-square images
  { name: 'unfoldPatches [2,3,8,8] patch 4 stride 2', ops: ['unfoldPatches', 'foldPatches'], fn: (x) => X.unfoldPatches(x, { size: 4, stride: 2 }), inputs: [{ shape: [2, 3, 8, 8] }] },
  { name: 'unfoldPatches [1,2,7,9] patch 3 stride 3 (edges uncovered)', ops: ['unfoldPatches'], fn: (x) => X.unfoldPatches(x, { size: 3, stride: 3 }), inputs: [{ shape: [1, 2, 7, 9] }] },
  { name: 'foldPatches [8,2,3,3] -> [2,2,5,5] stride 2', ops: ['foldPatches', 'unfoldPatches'],
    fn: (p) => X.foldPatches(p, { size: 3, stride: 2, height: 5, width: 5 }), inputs: [{ shape: [8, 2, 3, 3] }] },
  { name: 'unfoldPatches CPC CIFAR grid [3,3,32,32] patch 8 stride 4', ops: ['unfoldPatches'], gradcheck: false,
    fn: (x) => X.unfoldPatches(x, { size: 8, stride: 4 }), inputs: [{ shape: [3, 3, 32, 32] }] },
  // layer norm per sample
  { name: 'layerNorm [3,2,3,4]', ops: ['layerNormRows', 'layerNormBackward'], fn: (x) => X.layerNorm(x), inputs: [{ shape: [3, 2, 3, 4], low: -2, high: 3 }] },
  { name: 'layerNorm [5,7] eps 1e-3, offset 100', ops: ['layerNormRows'], fn: (x) => X.layerNorm(x, 1e-3), tol: { atol: 1e-4, rtol: 1e-3 },
    inputs: [{ shape: [5, 7], low: 99, high: 101 }] },
  { name: 'layerNorm long rows [70,4,9,9] (several workgroups)', ops: ['layerNormRows'], gradcheck: false, tol: { atol: 1e-4, rtol: 1e-3 },
    fn: (x) => X.layerNorm(x), inputs: [{ shape: [70, 4, 9, 9] }] },
  { name: 'layerNormBackward [4,6]', ops: ['layerNormBackward'], grad: false,
    fn: (g, y, s) => runOp(X.LayerNormBackwardOp, [g, y, s], undefined), inputs: [rows(4, 6), rows(4, 6), vec(4, 0.5, 2)] },
  // fused NCE: plain, soft clip, own group excluded, ragged sizes over several workgroups
  { name: 'nceLogSumExp [5,3] x [7,3]', ops: ['nceLogSumExp'], fn: (a, b) => X.nceLogSumExp(a, b).lse, inputs: [rows(5, 3), rows(7, 3)] },
  { name: 'nceLogSumExp scale 0.5 clip 2 [6,4] x [9,4]', ops: ['nceLogSumExp'],
    fn: (a, b) => X.nceLogSumExp(a, b, { scale: 0.5, clip: 2 }).lse, inputs: [rows(6, 4, -2, 2), rows(9, 4, -2, 2)] },
  { name: 'nceLogSumExp own group excluded (1 row : 3 columns) clip 1 [4,3] x [12,3]', ops: ['nceLogSumExp'],
    fn: (a, b) => X.nceLogSumExp(a, b, { clip: 1, exclude: { rowsPerGroup: 1, colsPerGroup: 3 } }).lse, inputs: [rows(4, 3), rows(12, 3)] },
  { name: 'nceLogSumExp own group excluded (2 rows : 3 columns) [6,2] x [9,2]', ops: ['nceLogSumExp'],
    fn: (a, b) => X.nceLogSumExp(a, b, { exclude: { rowsPerGroup: 2, colsPerGroup: 3 } }).lse, inputs: [rows(6, 2), rows(9, 2)] },
  { name: 'nceLogSumExp max [7,3] x [10,3] excluded', ops: ['nceLogSumExp'], grad: false,
    fn: (a, b) => X.nceLogSumExp(a, b, { scale: 0.7, clip: 1.5, exclude: { rowsPerGroup: 1, colsPerGroup: 2 } }).max, inputs: [rows(7, 3), rows(14, 3)] },
  { name: 'nceLogSumExp [131,17] x [263,17] clip 5, excluded (1 : 2)', ops: ['nceLogSumExp'], gradcheck: false, tol: { atol: 1e-4, rtol: 1e-3 },
    fn: (a, b) => X.nceLogSumExp(a, b, { scale: 0.3, clip: 5, exclude: { rowsPerGroup: 1, colsPerGroup: 2 } }).lse, inputs: [rows(131, 17), rows(263, 17)] },
  { name: 'nceGradA [5,3] x [8,3] clip, excluded', ops: ['nceGradA'], grad: false,
    fn: nceGrad(X.NceGradAOp, ATTRS(0.6, 2, 1, 2)), inputs: [rows(5, 3), rows(8, 3), vec(5, -1, 1), vec(5, 1, 3)] },
  { name: 'nceGradB [6,3] x [7,3] plain', ops: ['nceGradB'], grad: false,
    fn: nceGrad(X.NceGradBOp, ATTRS(1, 0, 0, 0)), inputs: [rows(6, 3), rows(7, 3), vec(6, -1, 1), vec(6, 1, 3)] },
  // the CPU adapters' tiles: a block of rows starting at row 2 of the whole, own groups of 1 row : 3 columns
  { name: 'nceTileLse [4,12] rows 2.. clip 1.5', ops: ['nceTileLse'], grad: false,
    fn: (t) => runOp(X.NceTileLseOp, [t], { ...ATTRS(0.7, 1.5, 1, 3), rowOffset: 2 }), inputs: [rows(4, 12, -3, 3)] },
  { name: 'nceTileLse max [70,9] plain', ops: ['nceTileLse'], grad: false,
    fn: (t) => runOpAux(X.NceTileLseOp, [t], { ...ATTRS(1, 0, 0, 0), rowOffset: 0 }).aux[0], inputs: [rows(70, 9)] },
  { name: 'nceTileWeights [3,12] rows 2.. clip 2 (own groups 0)', ops: ['nceTileWeights'], grad: false,
    fn: (t, l, g) => runOp(X.NceTileWeightsOp, [t, l, g], { ...ATTRS(0.5, 2, 1, 3), rowOffset: 2 }), inputs: [rows(3, 12, -3, 3), vec(3, 1, 3), vec(3, -1, 1)] },
  // the losses built on it
  { name: 'featureMapNce (AMDIM NCE + regularizer) B 3, L 4, d 5, tclip 2', ops: ['featureMapNce', 'nceLogSumExp'],
    fn: fmNce(2), inputs: [rows(3, 5, -2, 2), rows(12, 5, -2, 2)] },
  { name: 'featureMapNce B 4, L 1 (global vs global), no clip', ops: ['featureMapNce'], fn: fmNce(0), inputs: [rows(4, 3), rows(4, 3)] },
  { name: 'featureMapNce accuracy B 5, L 3', ops: ['featureMapNce'], grad: false,
    fn: (s, t) => X.featureMapNce(s, t, { tclip: 20 }).accuracy, inputs: [rows(5, 4), rows(15, 4)] },
  { name: 'cpcInfoNce [6,4] x [10,4]', ops: ['cpcInfoNce', 'nceLogSumExp'],
    fn: (p, t, l) => X.cpcInfoNce(p, t, l).loss, inputs: [rows(6, 4), rows(10, 4), { shape: [6], dtype: 'i32', values: [0, 3, 9, 4, 4, 7] }] },
  { name: 'cpcInfoNce accuracy [6,4] x [10,4]', ops: ['cpcInfoNce'], grad: false,
    fn: (p, t, l) => X.cpcInfoNce(p, t, l).accuracy, inputs: [rows(6, 4), rows(10, 4), { shape: [6], dtype: 'i32', values: [1, 3, 9, 2, 4, 0] }] },
];
