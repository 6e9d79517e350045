/**
 * The run kept in the browser's IndexedDB, so a reload resumes it: the images it trains on, its
 * config, its log records and the latest checkpoint's bytes. One run at a time; each save
 * replaces the last in one transaction, so a crash mid-save keeps the previous checkpoint.
 */
import type { TrainConfig } from '../simclr/browser.js';
import type { PageData } from './run.js';

const DB = 'simclr-webgpu';
const STORE = 'run';

export interface StoredRun {
  config: TrainConfig;
  data: PageData;
  /** The run log's records (steps, epochs, notes), as a directory's log.jsonl holds them. */
  records: Record<string, unknown>[];
  checkpoint: Uint8Array | null;
  savedAt: number;
}

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new Error(`cannot open the browser's storage (IndexedDB): ${req.error?.message}`));
  });
}

async function inStore<T>(mode: IDBTransactionMode, f: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = f(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = tx.onabort = () => reject(new Error(`browser storage: ${tx.error?.message ?? 'transaction aborted'}`));
    });
  } finally {
    db.close();
  }
}

export async function saveRun(run: StoredRun): Promise<void> {
  await inStore('readwrite', (s) => s.put(run, 'current'));
}

export async function loadRun(): Promise<StoredRun | null> {
  return (await inStore<StoredRun | undefined>('readonly', (s) => s.get('current'))) ?? null;
}

export async function clearRun(): Promise<void> {
  await inStore('readwrite', (s) => s.delete('current'));
}
