// The installed Gatehouse version, from package.json (two folders up from src/ or dist/).
import { readFileSync } from 'node:fs';

let cached: string | undefined;

export function gatehouseVersion(): string {
  cached ??= (
    JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  ).version;
  return cached;
}
