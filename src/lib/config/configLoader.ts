import { ConfigError } from '../errors.js';
import type { ConfigSource } from './ConfigSource.js';
import type { DrConfig } from './DrConfig.js';
import { loadConfig } from './loadConfig.js';

export interface ConfigLoaderOptions {
  /** How long a loaded configuration is reused; 0 reads Key Vault on every call. */
  ttlInSeconds: number;
  clock?: () => Date;
}

/** Default cache lifetime: a secret changed in Key Vault is picked up within five minutes. */
const DEFAULT_CONFIG_CACHE_SECONDS = 300;

/**
 * A cached `loadConfig`. Calls within the TTL get the same configuration; concurrent calls share one
 * read. A failed load is not cached, so a fixed secret is picked up by the next call. The source is
 * created lazily (on the first load), so no client is built before configuration is needed.
 */
export function createConfigLoader(
  source: () => ConfigSource,
  options: ConfigLoaderOptions,
): () => Promise<DrConfig> {
  const clock = options.clock ?? (() => new Date());
  let cached: { config: Promise<DrConfig>; expiresAt: number } | undefined;
  return () => {
    const now = clock().getTime();
    if (cached && now < cached.expiresAt) return cached.config;
    const config = Promise.resolve().then(() => loadConfig(source()));
    const entry = { config, expiresAt: now + options.ttlInSeconds * 1000 };
    cached = entry;
    config.catch(() => {
      if (cached === entry) cached = undefined;
    });
    return config;
  };
}

/** `KYVOS_DR_CONFIG_CACHE_SECONDS`: a whole number of seconds, default 300. */
export function configCacheSeconds(value: string | undefined, setting: string): number {
  if (value === undefined || value.trim() === '') return DEFAULT_CONFIG_CACHE_SECONDS;
  if (!/^\d+$/.test(value.trim())) {
    throw new ConfigError(
      `App setting ${setting} must be a whole number of seconds (0 disables the cache)`,
      setting,
    );
  }
  return Number(value.trim());
}
