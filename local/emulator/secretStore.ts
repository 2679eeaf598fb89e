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

/**
 * A soft-deleted secret: every version is kept, and the name can only be recovered or purged until
 * `scheduledPurge` ("Azure Key Vault soft-delete overview",
 * https://learn.microsoft.com/azure/key-vault/general/soft-delete-overview: recoverable for 7 to 90
 * days, 90 by default; soft-delete cannot be turned off since February 2025).
 */
export interface DeletedSecret {
  /** The versions at deletion, oldest first; the last is the current one. */
  versions: SecretVersion[];
  deleted: Date;
  scheduledPurge: Date;
}

/** The retention of the emulated vault: Azure's default when none is configured (soft-delete overview). */
const SOFT_DELETE_RETENTION_DAYS = 90;

/** A set on a name that is soft-deleted: Key Vault answers 409 ObjectIsDeletedButRecoverable. */
export class SecretDeletedButRecoverable extends Error {
  override readonly name = 'SecretDeletedButRecoverable';
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
  private readonly deleted = new Map<string, DeletedSecret>();

  /** Adds a new version of a secret and returns it. */
  setSecret(name: string, value: string, options: SetSecretOptions = {}): SecretVersion {
    if (!isValidSecretName(name)) {
      throw new Error(`Invalid secret name "${name}": use 1 to 127 letters, digits and dashes.`);
    }
    const key = name.toLowerCase();
    // "Once a secret ... is deleted, it remains recoverable"; its name cannot be reused until it is
    // recovered or purged (soft-delete overview; SetSecret answers 409, see keyVault.ts).
    if (this.deleted.has(key)) {
      throw new SecretDeletedButRecoverable(
        `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
      );
    }
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

  /** Soft-deletes a secret with all its versions; undefined when there is no such secret. */
  deleteSecret(name: string, now = new Date()): DeletedSecret | undefined {
    const key = name.toLowerCase();
    const versions = this.secrets.get(key);
    if (!versions) return undefined;
    this.secrets.delete(key);
    const deleted: DeletedSecret = {
      versions,
      deleted: now,
      scheduledPurge: new Date(now.getTime() + SOFT_DELETE_RETENTION_DAYS * 86_400_000),
    };
    this.deleted.set(key, deleted);
    return deleted;
  }

  getDeletedSecret(name: string): DeletedSecret | undefined {
    return this.deleted.get(name.toLowerCase());
  }

  /** Restores a soft-deleted secret with its versions; returns its current version. */
  recoverDeletedSecret(name: string): SecretVersion | undefined {
    const key = name.toLowerCase();
    const deleted = this.deleted.get(key);
    if (!deleted) return undefined;
    this.deleted.delete(key);
    this.secrets.set(key, deleted.versions);
    return deleted.versions[deleted.versions.length - 1];
  }

  /** Removes a soft-deleted secret for good; false when there is none. */
  purgeDeletedSecret(name: string): boolean {
    return this.deleted.delete(name.toLowerCase());
  }
}
