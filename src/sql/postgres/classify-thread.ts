// The worker thread of off-thread-classifier.ts: classifies the long texts it is handed with the same
// classifier the event loop uses (same code, same parser build), one at a time, and answers each with
// its classification (plain data: it crosses the thread boundary by structured clone).
import { parentPort, workerData } from 'node:worker_threads';
import { createPostgresClassifier } from './postgres-classifier.js';

interface Job {
  readonly id: number;
  readonly text: string;
}

const port = parentPort;
if (!port) throw new Error('classify-thread.ts runs only as a worker thread');
const options = (workerData ?? {}) as { maxTextLength?: number };
// No result caches here: the texts sent are long ones, which the classifier never caches anyway.
const classifier = await createPostgresClassifier({
  cacheSize: 0,
  templateCacheSize: 0,
  ...(options.maxTextLength !== undefined ? { maxTextLength: options.maxTextLength } : {}),
});
port.on('message', (job: Job) => {
  let message: { id: number; result?: unknown; error?: string };
  try {
    message = { id: job.id, result: classifier.classify(job.text) };
  } catch (error) {
    message = { id: job.id, error: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(message);
});
port.postMessage({ ready: true });
