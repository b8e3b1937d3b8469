// Which engine serves which protocol. Adding a protocol is one folder and one line here; start-up
// fails when a configured connection names a protocol without an engine.

export const ENGINE_PROTOCOLS = ['postgres', 'http', 'kubernetes', 'ssh'] as const;
export type EngineProtocol = (typeof ENGINE_PROTOCOLS)[number];

export function assertEnginesFor(connections: Readonly<Record<string, { protocol: string }>>): void {
  for (const [name, c] of Object.entries(connections)) {
    if (!(ENGINE_PROTOCOLS as readonly string[]).includes(c.protocol)) {
      throw new Error(
        `connection "${name}" uses protocol "${c.protocol}", which has no engine (available: ${ENGINE_PROTOCOLS.join(', ')})`,
      );
    }
  }
}
