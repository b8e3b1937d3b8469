// Builds the approvals feature for the composition root: repository on the store's connection, the
// wake-up signal that fits the store (in-process, or LISTEN/NOTIFY for a shared PostgreSQL store),
// the notifiers from config, the service and the access-grant layer. It picks no store itself.

import type { Kysely } from 'kysely';
import type { Logger, PolicyDecider } from '../core/ports.js';
import type { GatehouseConfig, SecretRef } from '../config/schema.js';
import { AccessGrants, type PolicySource } from './access-grants.js';
import { ApprovalNotifier, type NotificationChannel } from './approval-notifier.js';
import { ApprovalRepository } from './approval-repository.js';
import { ApprovalService, type ApprovalServiceDeps } from './approval-service.js';
import { LocalApprovalSignal, PostgresApprovalSignal, type ApprovalSignal } from './approval-signal.js';
import type { ApprovalTables } from './approval-tables.js';
import type { ApprovalEventSink, ImpactPreviewer } from './approval-types.js';
import { slackChannel } from './slack.js';
import { smtpChannel } from './smtp-channel.js';
import { webhookChannel } from './webhook-channel.js';

export interface ApprovalsSetup {
  /** The running config (replaced on reload); `approvals` must be present at start. */
  readonly config: () => GatehouseConfig;
  /** The store (SQLite or PostgreSQL): the approvals tables are reached through its kysely connection. */
  readonly store: { getKysely(): unknown };
  /** For a PostgreSQL store: its URL, for the LISTEN connection. Absent: in-process signal. */
  readonly listenUrl?: string;
  readonly previewer: ImpactPreviewer;
  readonly resolveSecret: (ref: SecretRef) => Promise<string>;
  readonly logger: Logger;
  readonly sink?: ApprovalEventSink;
  /** Base URL for links when neither approvals.publicUrl nor listeners.http.publicUrl is set. */
  readonly fallbackUrl: () => string;
  /** Overrides for tests (sweep and poll intervals, preview timeout). */
  readonly tuning?: Partial<
    Pick<ApprovalServiceDeps, 'sweepIntervalMs' | 'pollIntervalMs' | 'previewTimeoutMs' | 'reason'>
  >;
}

export interface Approvals {
  readonly service: ApprovalService;
  readonly grants: AccessGrants;
  /** The policy decider with active access grants layered on. */
  layer(base: PolicyDecider, source: PolicySource): PolicyDecider;
  readonly publicUrl: () => string;
  close(): Promise<void>;
}

function channelsFrom(
  config: GatehouseConfig,
  resolveSecret: (ref: SecretRef) => Promise<string>,
): NotificationChannel[] {
  const n = config.approvals?.notifiers;
  const out: NotificationChannel[] = [];
  if (n?.webhook) {
    const w = n.webhook;
    out.push(webhookChannel(w.url, () => resolveSecret(w.secret)));
  }
  if (n?.slack) {
    const s = n.slack;
    out.push(slackChannel(() => resolveSecret(s.webhookUrl)));
  }
  if (n?.smtp) {
    const m = n.smtp;
    const { password, ...rest } = m;
    out.push(smtpChannel({ ...rest, ...(password ? { password: () => resolveSecret(password) } : {}) }));
  }
  return out;
}

export async function createApprovals(setup: ApprovalsSetup): Promise<Approvals> {
  const approvalsConfig = () => {
    const a = setup.config().approvals;
    if (!a) throw new Error('approvals are not configured');
    return a;
  };
  const publicUrl = () =>
    (approvalsConfig().publicUrl ?? setup.config().listeners.http?.publicUrl ?? setup.fallbackUrl()).replace(
      /\/+$/,
      '',
    );
  if (!setup.config().listeners.http) {
    setup.logger.warn(
      {},
      "approvals are on but no HTTP listener is configured: approvers can only use another replica's API",
    );
  }
  const repository = new ApprovalRepository(setup.store.getKysely() as Kysely<ApprovalTables>);
  const signal: ApprovalSignal = setup.listenUrl
    ? await PostgresApprovalSignal.open(setup.listenUrl, setup.logger)
    : new LocalApprovalSignal();
  // The notifier reports deliveries back to the service, which is created after it.
  const delivered: { to?: ApprovalService } = {};
  const notifier = new ApprovalNotifier({
    channels: () => channelsFrom(setup.config(), setup.resolveSecret),
    logger: setup.logger,
    onDelivered: (channel, notice) => delivered.to?.noteDelivered(channel, notice.event, notice.request),
  });
  const service = new ApprovalService({
    repository,
    signal,
    config: approvalsConfig,
    adminGroups: () => setup.config().api.adminGroups,
    previewer: setup.previewer,
    notifier,
    ...(setup.sink ? { sink: setup.sink } : {}),
    logger: setup.logger,
    publicUrl,
    ...setup.tuning,
  });
  const grants = new AccessGrants({ repository, signal, config: approvalsConfig, logger: setup.logger });
  try {
    await grants.start();
  } catch (e) {
    await signal.close();
    throw e;
  }
  delivered.to = service;
  service.start();
  return {
    service,
    grants,
    layer: (base, source) => grants.layer(base, source),
    publicUrl,
    async close() {
      grants.stop();
      await service.close();
      await signal.close();
    },
  };
}
