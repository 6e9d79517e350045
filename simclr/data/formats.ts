/** The data formats `--format` names (no readers here, so the config schema loads in browsers). */
export type DataFormat = 'auto' | 'cifar10' | 'cifar100' | 'stl10' | 'idx' | 'folder';
export const DATA_FORMATS: readonly DataFormat[] = ['auto', 'cifar10', 'cifar100', 'stl10', 'idx', 'folder'];
