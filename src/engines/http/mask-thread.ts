// The worker thread of body-masking.ts: masks the long response bodies it is handed with the same
// function the event loop uses (maskBodyText), one at a time, and answers each with its result (plain
// data: it crosses the thread boundary by structured clone).
import { parentPort } from 'node:worker_threads';
import { runMaskJob, type MaskJob } from './body-masking.js';

const port = parentPort;
if (!port) throw new Error('mask-thread.ts runs only as a worker thread');
port.on('message', (m: { id: number; job: MaskJob }) => {
  let answer: { id: number; result?: unknown; error?: string };
  try {
    answer = { id: m.id, result: runMaskJob(m.job) };
  } catch (error) {
    answer = { id: m.id, error: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(answer);
});
