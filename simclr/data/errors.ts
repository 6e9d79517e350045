/**
 * Errors raised while reading data sets. Each names the file (or folder) and what is wrong with
 * it, e.g. `data: /d/train_X.bin: size 1000 is not a multiple of the 27648-byte record size`.
 */
import { EngineError } from '../../engine/errors.js';

export class DataError extends EngineError {
  constructor(readonly file: string | null, readonly detail: string) {
    super('data', file === null ? detail : `${file}: ${detail}`);
  }
}
