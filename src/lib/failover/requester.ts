/**
 * Who asked for a failover or a retry: the `requestedBy` of the run's audit trail. It comes only from
 * an authenticated principal (App Service authentication, when the app says it is configured) or from
 * what the caller wrote in the request (the body's `requestedBy`, the CLI's `--requested-by`), and it
 * is refused when it is long or holds characters that could forge or hide text in a log line or a
 * report.
 */
import type { AppSettings } from '../config/ConfigSource.js';
import * as rules from '../config/rules.js';
import { APP_SETTINGS } from '../config/secretNames.js';
import { ConfigError, InputError } from '../errors.js';

export const REQUESTED_BY_MAX_LENGTH = 200;

/** Control characters (C0, DEL, C1), invisible format characters (bidi overrides, zero-width) and line separators. */
const UNSAFE_CHARACTERS = /[\p{Cc}\p{Cf}\u2028\u2029]/u;

/** What is wrong with a requester's name, or undefined when it may be recorded. */
export function requestedByProblem(name: string): string | undefined {
  if (name.length > REQUESTED_BY_MAX_LENGTH) {
    return `requestedBy must be at most ${REQUESTED_BY_MAX_LENGTH} characters`;
  }
  if (UNSAFE_CHARACTERS.test(name)) {
    return 'requestedBy must not contain control characters, line breaks or invisible formatting characters';
  }
  return undefined;
}

/** The header App Service authentication sets to the caller's name (a UPN or e-mail address). */
const PRINCIPAL_NAME_HEADER = 'x-ms-client-principal-name';

/**
 * The caller's name as App Service authentication ("Easy Auth") gives it, or undefined.
 *
 * With authentication enabled, App Service injects the `x-ms-client-principal-*` headers and does not
 * let external requests set them
 * (https://learn.microsoft.com/azure/app-service/configure-authentication-user-identities). Without
 * it nothing strips them: any caller holding a function key could name anyone. So they are read only
 * when `KYVOS_DR_TRUST_EASY_AUTH_PRINCIPAL` is `true`, which says authentication is configured, and
 * ignored otherwise. Throws `ConfigError` for a setting that is neither `true` nor `false`, and
 * `InputError` (field `requestedBy`) for a principal name that may not be recorded.
 */
export function authenticatedPrincipal(
  headers: { get(name: string): string | null },
  settings: AppSettings,
): string | undefined {
  if (!trustsEasyAuth(settings)) return undefined;
  const name = headers.get(PRINCIPAL_NAME_HEADER)?.trim();
  if (!name) return undefined;
  const problem = requestedByProblem(name);
  if (problem)
    throw new InputError(`The authenticated principal's name cannot be recorded: ${problem}.`, 'requestedBy');
  return name;
}

function trustsEasyAuth(settings: AppSettings): boolean {
  const setting = APP_SETTINGS.trustEasyAuthPrincipal;
  const raw = settings[setting]?.trim();
  if (!raw) return false;
  const parsed = rules.boolean(raw);
  if (!parsed.ok) throw new ConfigError(`App setting ${setting} ${parsed.problem}.`, setting);
  return parsed.value;
}
