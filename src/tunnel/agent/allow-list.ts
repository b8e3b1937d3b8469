// The agent operator's own limit on what the agent dials, on top of the gateway's signed target
// list (`gatehouse agent run --allow`): it holds even against a gateway that signs anything.
// Rules are HOST:PORT where HOST is a name, `*.suffix`, an IP address or a CIDR block, and PORT a
// number or `*`. Names match the target as asked; CIDR blocks match the address the name resolves
// to, checked in the connect's own lookup, so what is checked is what is dialled.

import net from 'node:net';
import type { DialTarget } from '../../core/ports.js';

interface Rule {
  readonly kind: 'name' | 'suffix' | 'cidr';
  readonly value: string;
  readonly block?: net.BlockList;
  readonly port: number | '*';
}

export class AllowList {
  private constructor(private readonly rules: readonly Rule[]) {}

  static parse(specs: readonly string[]): AllowList {
    const rules = specs.map((spec): Rule => {
      const m = /^(.+):(\d{1,5}|\*)$/.exec(spec.trim());
      if (!m)
        throw new Error(
          `--allow ${spec}: expected HOST:PORT (HOST a name, *.suffix, IP or CIDR; PORT a number or *)`,
        );
      const host = m[1]!.replace(/^\[|\]$/g, '').toLowerCase();
      const port = m[2] === '*' ? '*' : Number(m[2]);
      if (host.includes('/')) {
        const [addr, bits] = host.split('/') as [string, string];
        const family = net.isIPv6(addr) ? 'ipv6' : net.isIPv4(addr) ? 'ipv4' : undefined;
        if (!family || !/^\d{1,3}$/.test(bits)) throw new Error(`--allow ${spec}: bad CIDR block`);
        const block = new net.BlockList();
        block.addSubnet(addr, Number(bits), family);
        return { kind: 'cidr', value: host, block, port };
      }
      if (net.isIP(host)) {
        const block = new net.BlockList();
        block.addAddress(host, net.isIPv6(host) ? 'ipv6' : 'ipv4');
        return { kind: 'cidr', value: host, block, port };
      }
      if (host.startsWith('*.')) return { kind: 'suffix', value: host.slice(1), port };
      return { kind: 'name', value: host, port };
    });
    return new AllowList(rules);
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** The target's name matches a name rule: no need to look at addresses. */
  allowsName(t: DialTarget): boolean {
    const host = t.host.toLowerCase();
    return this.rules.some(
      (r) =>
        (r.port === '*' || r.port === t.port) &&
        ((r.kind === 'name' && r.value === host) || (r.kind === 'suffix' && host.endsWith(r.value))),
    );
  }

  /** The address the target resolved to is inside an address rule for this port. */
  allowsAddress(address: string, port: number): boolean {
    const family = net.isIPv6(address) ? 'ipv6' : 'ipv4';
    return this.rules.some(
      (r) => r.kind === 'cidr' && (r.port === '*' || r.port === port) && r.block!.check(address, family),
    );
  }
}
