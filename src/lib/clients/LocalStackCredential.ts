import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';

/**
 * Object ID of the app's identity on the local stack: the `principalId` the local stack deploys the
 * `infra/` role assignments for, so the app runs with exactly the roles `infra/` gives it.
 */
export const LOCAL_APP_OBJECT_ID = '00000000-0000-0000-0000-0000000d7d70';

/**
 * The credential used against the local stack. It mints unsigned JWTs with the audience of the
 * requested scope: Azurite (`--oauth basic`) and the control-plane emulator check the token's shape,
 * audience and lifetime, not a signature, so identity-based access is exercised end to end as in
 * Azure without an identity provider.
 */
export class LocalStackCredential implements TokenCredential {
  constructor(
    private readonly tenantId: string,
    private readonly objectId = LOCAL_APP_OBJECT_ID,
  ) {}

  async getToken(scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken> {
    const scope = Array.isArray(scopes) ? (scopes[0] ?? '') : scopes;
    const audience = scope.replace(/\/\.default$/, '');
    const now = Math.floor(Date.now() / 1000);
    const expires = now + 3600;
    const token = unsignedJwt({
      aud: audience,
      iss: `https://sts.windows.net/${this.tenantId}/`,
      tid: this.tenantId,
      oid: this.objectId,
      sub: this.objectId,
      iat: now,
      nbf: now,
      exp: expires,
    });
    return { token, expiresOnTimestamp: expires * 1000, tokenType: 'Bearer' };
  }
}

/**
 * A JWT with `alg: none` carrying `claims`, as the local stack's services read it (shape, audience,
 * tenant, lifetime; no signature).
 */
export function unsignedJwt(claims: Record<string, unknown>): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return [encode({ alg: 'none', typ: 'JWT' }), encode(claims), 'local'].join('.');
}
