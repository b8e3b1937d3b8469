// The settings a client asks for in its StartupMessage, read as PostgreSQL reads them: every
// parameter that is not user, database, options or replication names a setting, and `options`
// holds command-line switches (`-c name=value`, `--name=value`; backslash escapes the next
// character, postgres.c pg_split_opts). Each becomes a SET the gate decides like any other; none is
// dropped silently. Pure.

export interface RequestedSetting {
  /** Lower-case setting name, with '-' read as '_' (as PostgreSQL's ParseLongOption does). */
  readonly name: string;
  readonly value: string;
  /** Where the client wrote it: a startup parameter, or inside `options`. */
  readonly source: 'parameter' | 'options';
}

export type StartupSettings =
  | { readonly ok: true; readonly settings: readonly RequestedSetting[] }
  | { readonly ok: false; readonly message: string; readonly code?: string };

/** Startup parameters that are not settings (55.7, StartupMessage). */
const NOT_SETTINGS = new Set(['user', 'database', 'options', 'replication']);

/**
 * A name PostgreSQL reads as one of the startup packet's own fields (or a protocol option) when it
 * is spelt exactly so, and as an unknown setting otherwise: `Options`, `REPLICATION`, `-c options=…`.
 * Gatehouse passes settings upstream as startup parameters under their lower-case names, where such a
 * name would become the field itself (a second, undecided `options`; a replication connection), so it
 * is refused as the server refuses it (docs/security.md, class 99).
 */
function fieldNameAsSetting(name: string): StartupSettings | undefined {
  const lower = name.toLowerCase().replace(/-/g, '_');
  if (!NOT_SETTINGS.has(lower) && !lower.startsWith('_pq_.')) return undefined;
  return { ok: false, code: '42704', message: `unrecognized configuration parameter "${name}"` };
}

/** Splits `options` into words: whitespace separates, a backslash takes the next character as is. */
export function splitOptions(options: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < options.length; i++) {
    const ch = options[i]!;
    if (ch === '\\' && i + 1 < options.length) {
      word += options[++i]!;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

function setting(nameValue: string, source: RequestedSetting['source']): RequestedSetting | string {
  const eq = nameValue.indexOf('=');
  if (eq <= 0) return `"${nameValue}" in options is not name=value`;
  return {
    name: nameValue.slice(0, eq).replace(/-/g, '_').toLowerCase(),
    value: nameValue.slice(eq + 1),
    source,
  };
}

/** The settings a StartupMessage asks for, or why Gatehouse cannot read them. */
export function startupSettings(params: Readonly<Record<string, string>>): StartupSettings {
  const settings: RequestedSetting[] = [];
  for (const [key, value] of Object.entries(params)) {
    if (NOT_SETTINGS.has(key) || key.startsWith('_pq_.')) continue;
    const field = fieldNameAsSetting(key);
    if (field) return field;
    settings.push({ name: key.toLowerCase(), value, source: 'parameter' });
  }
  const options = params['options'];
  if (options !== undefined) {
    const words = splitOptions(options);
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      let parsed: RequestedSetting | string;
      if (w === '-c') {
        const next = words[++i];
        if (next === undefined) return { ok: false, message: 'options ends with -c and no name=value' };
        parsed = setting(next, 'options');
      } else if (w.startsWith('-c')) parsed = setting(w.slice(2), 'options');
      else if (w.startsWith('--')) parsed = setting(w.slice(2), 'options');
      else {
        return {
          ok: false,
          message: `Gatehouse accepts only "-c name=value" and "--name=value" in options, not "${w}"`,
        };
      }
      if (typeof parsed === 'string') return { ok: false, message: parsed };
      const field = fieldNameAsSetting(parsed.name);
      if (field) return field;
      settings.push(parsed);
    }
  }
  return { ok: true, settings };
}

/** A SET statement that means what the startup setting means (SQL quoting under standard strings). */
export function asSetStatement(s: RequestedSetting): string {
  const ident = `"${s.name.replace(/"/g, '""')}"`;
  return `SET ${ident} = '${s.value.replace(/'/g, "''")}'`;
}
