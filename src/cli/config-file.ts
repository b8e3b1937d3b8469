// Where the CLI finds gatehouse.yaml: --config, then GATEHOUSE_CONFIG, then ./gatehouse.yaml.
import { loadConfig, type LoadedConfig } from '../config/load-config.js';

export function configPath(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  return explicit ?? env.GATEHOUSE_CONFIG ?? 'gatehouse.yaml';
}

export function loadCliConfig(explicit?: string): Promise<LoadedConfig> {
  return loadConfig(configPath(explicit));
}
