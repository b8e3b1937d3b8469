// Public surface of the shell-command classifier (docs/shell.md), shared by SSH exec, reconstructed SSH
// shell lines and Kubernetes exec. Import from here; the other files in this folder are its internals.
//
//   classifyShellCommand({ line: "ls -la /srv; sudo rm -rf /srv/data" })
//   classifyShellCommand({ argv: ["sh", "-c", "cat /etc/hosts"] })      // no shell around it
//
// Both return a ShellClassification (src/core/shell-command.ts): the commands it may run, their
// categories (read, write, destructive, privilege, exfiltration, unknown) and a kind. Synchronous: the
// bash grammar (WebAssembly) loads when this module is first imported.

export { classifyShellCommand, MAX_WRITE_PATHS, type ShellInput } from './shell-classifier.js';
export { pathRisk } from './targets.js';
export { shellQuote } from './shell-words.js';
export {
  SHELL_CATEGORIES,
  SHELL_SEVERITY,
  type ShellCategory,
  type ShellClassification,
  type ShellCommand,
} from '../core/shell-command.js';
