import { randomBytes } from 'node:crypto';

/** One version of a secret. */
export interface SecretVersion {
  name: string;
  /** 32 hex characters, as Key Vault's. */
  version: string;
  value: string;
  contentType?: string;
  tags?: Record<string, string>;
  enabled: boolean;
  created: Date;
  updated: Date;
  expiresOn?: Date;
  notBefore?: Date;
}

export interface SetSecretOptions {
  contentType?: string;
  tags?: Record<string, string>;
  enabled?: boolean;
  expiresOn?: Date;
  notBefore?: Date;
}

/** Key Vault's secret-name rule: letters, digits and dashes, 1 to 127 characters. */
export function isValidSecretName(name: string): boolean {
  return /^[0-9a-zA-Z-]{1,127}$/.test(name);
}

/**
 * The secrets of the emulated vault, in memory. Every set adds a version; the newest version is the
 * current one. Names are case-insensitive, as in Key Vault; the spelling of the first set is kept.
 */
export class SecretStore {
  private readonly secrets = new Map<string, SecretVersion[]>();

  /** Adds a new version of a secret and returns it. */
  setSecret(name: string, value: string, options: SetSecretOptions = {}): SecretVersion {
    if (!isValidSecretName(name)) {
      throw new Error(`Invalid secret name "${name}": use 1 to 127 letters, digits and dashes.`);
    }
    const key = name.toLowerCase();
    const versions = this.secrets.get(key) ?? [];
    const now = new Date();
    const secret: SecretVersion = {
      name: versions[0]?.name ?? name,
      version: randomBytes(16).toString('hex'),
      value,
      enabled: options.enabled ?? true,
      created: now,
      updated: now,
    };
    if (options.contentType !== undefined) secret.contentType = options.contentType;
    if (options.tags !== undefined) secret.tags = { ...options.tags };
    if (options.expiresOn !== undefined) secret.expiresOn = options.expiresOn;
    if (options.notBefore !== undefined) secret.notBefore = options.notBefore;
    versions.push(secret);
    this.secrets.set(key, versions);
    return secret;
  }

  /** The given version, or the current one when `version` is omitted or empty. */
  getSecret(name: string, version?: string): SecretVersion | undefined {
    const versions = this.secrets.get(name.toLowerCase());
    if (!versions) return undefined;
    if (!version) return versions[versions.length - 1];
    return versions.find((v) => v.version === version.toLowerCase());
  }

  /** The current version of every secret, ordered by name. */
  listSecrets(): SecretVersion[] {
    return [...this.secrets.values()]
      .map((versions) => versions[versions.length - 1])
      .filter((v): v is SecretVersion => v !== undefined)
      .sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()));
  }
}
