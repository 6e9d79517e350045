/** Data sets for SimCLR: readers for CIFAR-10/100, STL-10, MNIST-style idx files and PNG folders; a batch loader. */
export { DataError } from './errors.js';
export { type ImageDataset, imageSize, labelCounts, readBytes, readRecords, type RecordRange, readClassNames, concatDatasets } from './dataset.js';
export {
  readCifar10, readCifar100, readStl10, readIdx, readMnist, readFashionMnist,
  CIFAR10_CLASSES, STL10_CLASSES, MNIST_CLASSES, FASHION_MNIST_CLASSES, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC,
  type CifarOptions, type Cifar100Options, type IdxOptions,
} from './binary.js';
export { readImageFolder, decodePng, resizeImage, type ImageFolderOptions, type ResizeMode } from './png.js';
export { BatchLoader, type Batch, type BatchLoaderOptions, type LoaderState } from './loader.js';
export { openSplits, detectFormat, toThreeChannels, DATA_FORMATS, type DataFormat, type DataSplits } from './splits.js';
