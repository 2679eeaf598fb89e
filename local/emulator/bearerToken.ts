/**
 * Bearer-token checks of the emulated control plane.
 *
 * The local stack's credential mints unsigned JWTs (`alg: none`), so there is no signature to
 * verify. What is checked is what makes a client misconfiguration visible early, as Azure would:
 * a missing or unreadable token, an expired one, a token for another audience (an ARM token sent
 * to Key Vault) or for another tenant.
 */

/** The claims the emulator reads. */
export interface TokenClaims {
  aud?: string;
  tid?: string;
  iss?: string;
  exp?: number;
  nbf?: number;
  /** Object ID of the caller: what role assignments name (the principalId). */
  oid?: string;
  /** Client (application) ID of the caller. */
  appid?: string;
}

export type TokenProblem = 'missing' | 'malformed' | 'expired' | 'audience' | 'tenant';

export type TokenCheck =
  | { ok: true; claims: TokenClaims }
  | { ok: false; problem: TokenProblem; detail: string };

export interface TokenExpectations {
  /** Accepted `aud` values; compared without trailing slashes and case. */
  audiences: string[];
  tenantId: string;
  now?: Date;
}

/** Reads `Authorization: Bearer <jwt>` and checks audience, tenant and expiry. */
export function checkBearerToken(authorization: string | undefined, expected: TokenExpectations): TokenCheck {
  if (!authorization)
    return { ok: false, problem: 'missing', detail: "The 'Authorization' header is missing." };
  const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (!match?.[1]) {
    return {
      ok: false,
      problem: 'malformed',
      detail: "The 'Authorization' header is not of the form 'Bearer <token>'.",
    };
  }
  const claims = decodeClaims(match[1]);
  if (!claims) return { ok: false, problem: 'malformed', detail: 'The access token is not a readable JWT.' };
  const nowSeconds = Math.floor((expected.now ?? new Date()).getTime() / 1000);
  if (typeof claims.exp === 'number' && claims.exp < nowSeconds) {
    return {
      ok: false,
      problem: 'expired',
      detail: `The access token expiry UTC time '${new Date(claims.exp * 1000).toISOString()}' is earlier than current UTC time '${new Date(nowSeconds * 1000).toISOString()}'.`,
    };
  }
  const audience = normalizeAudience(claims.aud ?? '');
  if (!expected.audiences.some((a) => normalizeAudience(a) === audience)) {
    return {
      ok: false,
      problem: 'audience',
      detail: `The access token has been obtained for wrong audience or resource '${claims.aud ?? ''}'. It should match one of '${expected.audiences.join("', '")}'.`,
    };
  }
  if (claims.tid !== undefined && claims.tid.toLowerCase() !== expected.tenantId.toLowerCase()) {
    return {
      ok: false,
      problem: 'tenant',
      detail: `The access token is from the wrong tenant '${claims.tid}'. It must match the tenant '${expected.tenantId}'.`,
    };
  }
  return { ok: true, claims };
}

function decodeClaims(token: string): TokenClaims | undefined {
  const parts = token.split('.');
  if (parts.length < 2 || parts.length > 3 || !parts[1]) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return payload !== null && typeof payload === 'object' && !Array.isArray(payload)
      ? (payload as TokenClaims)
      : undefined;
  } catch {
    return undefined;
  }
}

function normalizeAudience(audience: string): string {
  return audience.replace(/\/+$/, '').toLowerCase();
}
