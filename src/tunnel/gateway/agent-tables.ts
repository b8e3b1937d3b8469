// Row shapes of the agent tables (store migration 0004), in the store's column conventions:
// epoch-ms bigints, text ids. Only agent-registry.ts reads and writes them.

export interface AgentsTable {
  id: string;
  name: string;
  public_key: string;
  hostname: string;
  version: string;
  join_token_id: string;
  created_at: number;
  revoked_at: number | null;
  last_seen_at: number | null;
}

export interface AgentJoinTokensTable {
  id: string;
  name: string;
  secret_hash: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  agent_id: string | null;
  revoked_at: number | null;
}

export interface AgentConnectionsTable {
  id: string;
  agent_id: string;
  name: string;
  replica: string;
  address: string;
  version: string;
  connected_at: number;
  heartbeat_at: number;
  active_streams: number;
  total_streams: number;
}

/** The kysely database type of the agent tables (the store's connection, cast to it). */
export interface AgentTables {
  agents: AgentsTable;
  agent_join_tokens: AgentJoinTokensTable;
  agent_connections: AgentConnectionsTable;
}
