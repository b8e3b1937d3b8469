// The shipped default policy for AI agents on SSH connections (issue 15 §3), documented in docs/ssh.md:
// read commands allowed; writes and what cannot be judged reviewed; destructive, privilege and
// exfiltration-shaped commands refused; interactive shells, exec with a terminal and sftp reviewed,
// other subsystems refused; port forwarding refused. Shell lines reconstructed inside an approved shell follow the same command rules.
// Plain config data: it goes through the same evaluation as any written policy.

import type { ReviewMode } from '../core/decision.js';
import type { PolicyConfig } from '../config/policy-schema.js';

export interface DefaultSshPolicyOptions {
  /** Groups treated as agents besides agent principals (default `ai-agents`). */
  readonly agentGroups?: readonly string[];
  /** Groups of people with full shell rights (default `ssh-admins`). */
  readonly adminGroups?: readonly string[];
  readonly approval?: string;
  readonly mode?: ReviewMode;
  /** Masking obligation on what agents see (exec and shell output). */
  readonly mask?: boolean | string;
}

export function defaultSshPolicies(
  connections: readonly string[],
  options: DefaultSshPolicyOptions = {},
): PolicyConfig[] {
  const review = {
    ...(options.mode === undefined ? {} : { mode: options.mode }),
    ...(options.approval === undefined ? {} : { approval: options.approval }),
  };
  const mask = options.mask === undefined ? {} : { mask: options.mask };
  const agents: PolicyConfig = {
    id: 'ssh-agents',
    description:
      'Default guardrails for AI agents on SSH: read freely, review changes and shells, never destroy or escalate.',
    subjects: [{ agent: true }, { groups: [...(options.agentGroups ?? ['ai-agents'])] }],
    connections: [...connections],
    rules: [
      {
        id: 'ssh-agents-no-destructive',
        effect: 'deny',
        match: { sshRequests: ['exec', 'line', 'sftp'], commandCategories: ['destructive'] },
        message:
          '{kind} is refused by rule {rule}: the command destroys data or stops a service. Run a read-only command, or ask a person with access to the host.',
      },
      {
        id: 'ssh-agents-no-privilege',
        effect: 'deny',
        match: { sshRequests: ['exec', 'line', 'sftp'], commandCategories: ['privilege'] },
        message:
          '{kind} is refused by rule {rule}: the command runs as someone else or changes who may do what (sudo, su, system files, authorized_keys). Ask a person with access to the host.',
      },
      {
        id: 'ssh-agents-no-exfiltration',
        effect: 'deny',
        match: { sshRequests: ['exec', 'line'], commandCategories: ['exfiltration'] },
        message:
          '{kind} is refused by rule {rule}: the command can send data off the host. Ask a person with access to the host.',
      },
      {
        id: 'ssh-agents-no-subsystems',
        effect: 'deny',
        match: { sshRequests: ['subsystem'] },
        message:
          '{kind} is refused by rule {rule}: Gatehouse relays a subsystem other than sftp as bytes it cannot decide (the host may serve sftp or a shell under any name). Use sftp, or ask a person with access to the host.',
      },
      {
        id: 'ssh-agents-no-port-forward',
        effect: 'deny',
        match: { sshRequests: ['port-forward'] },
        message:
          '{kind} is refused by rule {rule}: port forwarding would tunnel past these rules. Ask for a Gatehouse connection to that service instead.',
      },
      {
        id: 'ssh-agents-review-unjudged',
        effect: 'review',
        match: { sshRequests: ['exec', 'line'], commandCategories: ['unknown', 'write'] },
        ...review,
        ...mask,
      },
      {
        // With a terminal, what is typed into the command (a pager's `!cmd`, top's kill, an editor) is
        // not decided: that is a shell by another name.
        id: 'ssh-agents-review-interactive-exec',
        effect: 'review',
        match: { sshRequests: ['exec'], tty: true },
        ...review,
        ...mask,
      },
      {
        id: 'ssh-agents-review-shell',
        effect: 'review',
        match: { sshRequests: ['shell'] },
        ...review,
        ...mask,
      },
      {
        id: 'ssh-agents-review-sftp',
        effect: 'review',
        match: { sshRequests: ['sftp'] },
        ...review,
        ...mask,
      },
      {
        id: 'ssh-agents-allow-read',
        effect: 'allow',
        match: { sshRequests: ['exec', 'line'], commandCategories: ['read'] },
        ...mask,
      },
    ],
  };
  const admins: PolicyConfig = {
    id: 'ssh-admins',
    description: 'People in the SSH admin group keep full rights; every command is still recorded.',
    subjects: { groups: [...(options.adminGroups ?? ['ssh-admins'])], agent: false },
    connections: [...connections],
    rules: [{ id: 'ssh-admins-allow-all', effect: 'allow', match: {} }],
  };
  return [agents, admins];
}
