/**
 * What every method's encoder is to the shared machinery (training monitor, evaluation, export): a
 * Module whose forward maps images [N, C, H, W] to the representation [N, features]. A ResNet
 * without fc (its pooled h), the AMDIM encoder (its pooled global map r1) and CPC's patch encoder
 * (its mean patch embedding) all are.
 */
import type { Module } from './module.js';

export type Encoder = Module & { readonly features: number };
