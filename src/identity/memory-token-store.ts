// An in-process TokenStore: for tests, and for runs that keep no state (records vanish on exit).
// It must not be used where tokens are issued by one process and verified by another.

import type { TokenStore } from '../core/ports.js';
import type { ServiceTokenRecord } from '../core/records.js';

export class MemoryTokenStore implements TokenStore {
  readonly #records = new Map<string, ServiceTokenRecord>();

  async saveServiceToken(record: ServiceTokenRecord): Promise<void> {
    if (this.#records.has(record.id)) throw new Error(`service token ${record.id} already exists`);
    this.#records.set(record.id, { ...record, groups: [...record.groups] });
  }

  async listServiceTokens(): Promise<ServiceTokenRecord[]> {
    return [...this.#records.values()]
      .map((r) => ({ ...r, groups: [...r.groups] }))
      .sort((a, b) => a.issuedAt.getTime() - b.issuedAt.getTime());
  }

  async revokeServiceToken(id: string, at: Date): Promise<boolean> {
    const r = this.#records.get(id);
    if (!r || r.revokedAt) return false;
    this.#records.set(id, { ...r, revokedAt: at });
    return true;
  }

  async isRevoked(id: string): Promise<boolean> {
    return this.#records.get(id)?.revokedAt !== undefined;
  }
}
