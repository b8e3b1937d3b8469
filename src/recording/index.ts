// Builds the recording feature from config for the composition root: the signing key that seals
// records, the blob store, the recorder in front of the store, result samplers, prompt lineage and
// contexts, SIEM exporters and the retention purge. Only src/main.ts and the CLI call this.

import path from 'node:path';
import type { RecordingConfig, SecretRef } from '../config/schema.js';
import { toMs } from '../config/schema.js';
import type { LineageSource, Logger, SessionStore } from '../core/ports.js';
import type { ResultSamplerFactory } from '../core/records.js';
import type { CommittedEventListener, EventReader } from '../store/event-queries.js';
import type { EventSealer } from '../store/event-chain.js';
import { sessionPrefix, type BlobStore } from './blob-store.js';
import { ContextRegistry, type ContextPersistence } from './context-registry.js';
import { EVENT_TYPES } from './event-data.js';
import { LocalBlobStore } from './local-blob-store.js';
import { PromptLineageSource } from './prompt-lineage.js';
import {
  defaultRecordKeyPath,
  loadOrCreateRecordSigningKey,
  type RecordSigningKey,
} from './record-signing-key.js';
import { createSamplerFactory } from './result-sampler.js';
import { SessionRecorder, type RecorderStats } from './session-recorder.js';
import { SiemExporter, type SiemSink, type SiemStats } from './siem-exporter.js';
import { FileSink, StdoutSink, WebhookSink } from './siem-sinks.js';

/** What the recording feature needs from a store (SqliteStore and PostgresStore have it all). */
export interface RecordingStore extends SessionStore, EventReader, ContextPersistence {
  setSealer(sealer: EventSealer | undefined): void;
  onCommitted(listener: CommittedEventListener): () => void;
  /** Deletes up to `limit` sessions past retention at `before` (the store's retention rule); their ids. */
  purgeSessions(before: Date, limit?: number): Promise<string[]>;
}

export interface RecordingDeps {
  readonly dataDir: string;
  /** Resolves relative paths in the recording config. */
  readonly baseDir: string;
  readonly logger: Logger;
  readonly resolveSecret: (ref: SecretRef) => Promise<string>;
  /** Re-read contexts saved by other replicas this often (PostgreSQL store; 0: never). */
  readonly contextRefreshMs?: number;
}

export interface RecordingStatus {
  readonly recorder: RecorderStats;
  readonly siem: readonly SiemStats[];
  readonly keyId: string;
  readonly blobs: string;
}

export interface Recording {
  /** The store the gate writes through. */
  readonly recorder: SessionRecorder;
  readonly sampler: ResultSamplerFactory;
  readonly lineage: LineageSource;
  readonly contexts: ContextRegistry;
  readonly blobs: BlobStore;
  readonly key: RecordSigningKey;
  status(): RecordingStatus;
  /** Records SIEM drops counted so far in the affected sessions now (otherwise every 10 s). */
  reportSiemDrops(): void;
  /** Deletes sessions older than `olderThanMs` with their events, seals and blobs; returns how many. */
  purge(olderThanMs: number): Promise<number>;
  /** Stops timers and exporters and closes the recorder (and through it the store). */
  close(): Promise<void>;
}

export async function openBlobStore(
  config: RecordingConfig['blobs'],
  dataDir: string,
  baseDir: string,
  resolveSecret: (ref: SecretRef) => Promise<string>,
): Promise<BlobStore> {
  if (config.kind === 'local') {
    return new LocalBlobStore(config.path ? path.resolve(baseDir, config.path) : path.join(dataDir, 'blobs'));
  }
  const credentials =
    config.accessKeyId && config.secretAccessKey
      ? {
          accessKeyId: await resolveSecret(config.accessKeyId),
          secretAccessKey: await resolveSecret(config.secretAccessKey),
        }
      : undefined;
  // Loaded only when configured: the AWS SDK's S3 client is about 0.2 s of every start-up and CLI
  // command that would otherwise import it (docs/performance.md).
  const { S3BlobStore } = await import('./s3-blob-store.js');
  return new S3BlobStore({
    bucket: config.bucket,
    prefix: config.prefix,
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(config.forcePathStyle !== undefined ? { forcePathStyle: config.forcePathStyle } : {}),
    ...(credentials ? { credentials } : {}),
  });
}

export function recordKeyPath(config: RecordingConfig, dataDir: string, baseDir: string): string {
  return config.signingKeyFile ? path.resolve(baseDir, config.signingKeyFile) : defaultRecordKeyPath(dataDir);
}

async function buildSink(
  sink: RecordingConfig['siem'][number],
  baseDir: string,
  resolveSecret: (ref: SecretRef) => Promise<string>,
): Promise<SiemSink> {
  switch (sink.kind) {
    case 'file':
      return new FileSink(path.resolve(baseDir, sink.path));
    case 'stdout':
      return new StdoutSink();
    case 'webhook': {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(sink.headers))
        headers[k] = typeof v === 'string' ? v : await resolveSecret(v);
      return new WebhookSink({ url: sink.url, headers, timeoutMs: toMs(sink.timeout) });
    }
  }
}

/**
 * Deletes the sessions past retention at `before`, page by page, with their blobs: those that ended
 * before it, and those that never ended, are not live in this process and were last active before it
 * (src/store/event-queries.ts, docs/recording.md "Retention").
 */
export async function purgeRecordings(
  store: Pick<RecordingStore, 'purgeSessions'>,
  blobs: BlobStore | undefined,
  before: Date,
  logger?: Logger,
): Promise<number> {
  let total = 0;
  for (;;) {
    const ids = await store.purgeSessions(before, 500);
    for (const id of ids) {
      await blobs
        ?.deletePrefix(sessionPrefix(id))
        .catch((err: unknown) =>
          logger?.warn({ err: String(err), session: id }, 'blobs of a purged session not deleted'),
        );
    }
    total += ids.length;
    if (ids.length < 500) return total;
  }
}

export async function createRecording(
  store: RecordingStore,
  config: RecordingConfig,
  deps: RecordingDeps,
): Promise<Recording> {
  const { logger } = deps;
  const key = await loadOrCreateRecordSigningKey(recordKeyPath(config, deps.dataDir, deps.baseDir));
  if (key.created) logger.info({ keyId: key.keyId, path: key.path }, 'created the record signing key');
  store.setSealer(key);
  const blobs = await openBlobStore(config.blobs, deps.dataDir, deps.baseDir, deps.resolveSecret);
  const recorder = new SessionRecorder(store, { blobs, inlineSampleBytes: config.inlineSampleBytes, logger });
  const contexts = new ContextRegistry({
    persistence: store,
    ttlMs: toMs(config.contextTtl),
    refreshMs: deps.contextRefreshMs ?? 0,
    logger,
  });
  await contexts.start();

  const exporters: SiemExporter[] = [];
  for (const s of config.siem) {
    const exporter = new SiemExporter({
      sink: await buildSink(s, deps.baseDir, deps.resolveSecret),
      batch: s.batch,
      maxQueue: s.maxQueue,
      onError: (err) => logger.warn({ err: String(err) }, 'SIEM export failed; retrying'),
      onDrops: (exporter, drops) => {
        let total = 0;
        for (const [session, dropped] of drops) {
          total += dropped;
          // The record itself says its SIEM copy is incomplete (appended after the fact, chained and,
          // for an ended session, sealed again).
          void store
            .appendEvent(session, {
              type: EVENT_TYPES.siemDropped,
              at: new Date(),
              data: { exporter, dropped },
            })
            .catch(() => undefined);
        }
        logger.warn(
          { exporter, dropped: total, sessions: drops.size },
          'SIEM export queue full: events dropped',
        );
      },
    });
    exporters.push(exporter);
  }
  const unsubscribe =
    exporters.length > 0
      ? store.onCommitted((events) => exporters.forEach((x) => x.offer(events)))
      : undefined;

  const retentionMs = toMs(config.retention);
  let purging: Promise<unknown> | undefined;
  const purge = async (olderThanMs: number): Promise<number> =>
    purgeRecordings(store, blobs, new Date(Date.now() - olderThanMs), logger);
  let timer: NodeJS.Timeout | undefined;
  if (retentionMs > 0) {
    const run = () => {
      if (purging) return;
      purging = purge(retentionMs)
        .then((n) => n > 0 && logger.info({ sessions: n }, 'purged recordings past retention'))
        .catch((err: unknown) => logger.warn({ err: String(err) }, 'retention purge failed'))
        .finally(() => (purging = undefined));
    };
    setImmediate(run);
    timer = setInterval(run, 3_600_000);
    timer.unref();
  }

  return {
    recorder,
    sampler: createSamplerFactory(config.sample),
    lineage: new PromptLineageSource(contexts),
    contexts,
    blobs,
    key,
    status: () => ({
      recorder: recorder.stats(),
      siem: exporters.map((x) => x.stats()),
      keyId: key.keyId,
      blobs: blobs.kind,
    }),
    purge,
    reportSiemDrops: () => exporters.forEach((x) => x.reportDrops()),
    async close() {
      clearInterval(timer);
      contexts.stop();
      await purging;
      for (const x of exporters) x.reportDrops();
      await recorder.close();
      unsubscribe?.();
      await Promise.all(exporters.map((x) => x.close()));
      await blobs.close?.();
    },
  };
}
