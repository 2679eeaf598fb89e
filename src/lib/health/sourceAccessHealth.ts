import type { ClientFactory } from '../clients/ClientFactory.js';
import type { DrConfig } from '../config/DrConfig.js';
import { CONFIG_SECRETS } from '../config/secretNames.js';
import { describeError } from '../redact.js';
import { SourceAccess } from '../source/SourceAccess.js';
import { describeSourceAccess, missingSourceCredential } from '../source/sourceCredential.js';
import type { ReportBuilder } from './HealthReport.js';

export interface SourceAuthCheckContext {
  clients: ClientFactory;
  settings: Readonly<Record<string, string | undefined>>;
  clock: () => Date;
  /** The secondary answered Get Blob Service Stats: without it no credential can be proven. */
  secondaryReachable: boolean;
  abortSignal?: AbortSignal;
}

/**
 * Says in the storage report how the copy would read its source now and whether that was proven on
 * the secondary: `facts.sourceAuth` (`stored-sas` or `user-delegation`), `facts.sourceAccess` (the
 * secret, never the SAS) and `facts.sourceAuthProven` (true, false, or null when the secondary did
 * not answer).
 *
 * - `stored-sas` without a secret name: Unhealthy, naming the fix (`missingSourceCredential`).
 * - `stored-sas` with one: proven by the stored-SAS check that ran before (`sasCanListSecondary`).
 * - `user-delegation`: proven here, as preflight does, by signing a user-delegation SAS and listing
 *   and reading the source through the secondary with it; a refusal is Unhealthy, with the advice to
 *   store a SAS instead.
 */
export async function checkSourceAuth(
  config: DrConfig,
  report: ReportBuilder,
  context: SourceAuthCheckContext,
): Promise<void> {
  report.facts.sourceAuth = config.sourceAuth;
  report.facts.sourceAccess = describeSourceAccess(config);
  if (config.sourceAuth === 'stored-sas') {
    if (!config.sourceSasSecretName) {
      report.facts.sourceAuthProven = false;
      report.note(
        'Unhealthy',
        `${describeError(missingSourceCredential(config))} A failover is refused until then.`,
      );
      return;
    }
    const listed = report.facts.sasCanListSecondary;
    report.facts.sourceAuthProven = typeof listed === 'boolean' ? listed : null;
    return;
  }
  report.facts.sourceAuthProven = null;
  if (!context.secondaryReachable) return;
  try {
    const abort = context.abortSignal ? { abortSignal: context.abortSignal } : {};
    const source = await SourceAccess.open({
      config,
      clients: context.clients,
      settings: context.settings,
      clock: context.clock,
      ...abort,
    });
    await source.prove({ pageSize: 1, ...abort });
    report.facts.sourceAuthProven = true;
  } catch (error) {
    report.facts.sourceAuthProven = false;
    report.note(
      'Unhealthy',
      `The copy's user-delegation SAS (${CONFIG_SECRETS.sourceAuth}=user-delegation) could not read the source through the secondary endpoint (${describeError(error)}): a failover would be refused. Store an account or service SAS with read and list on the container, name its secret in ${CONFIG_SECRETS.sourceSasSecretName}, and set ${CONFIG_SECRETS.sourceAuth} to stored-sas.`,
    );
  }
}
