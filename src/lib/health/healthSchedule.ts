/** Every five minutes, at second 0 (NCRONTAB: second minute hour day month day-of-week). */
const DEFAULT_HEALTH_SCHEDULE = '0 */5 * * * *';

/**
 * The schedule of a health timer: the app-setting expression `%NAME%` when the setting is set, so the
 * Functions host reads the NCRONTAB expression from it; the default otherwise. The host refuses to
 * start when a `%NAME%` expression names a setting that does not exist, so an unset setting must not
 * be referenced. App settings are environment variables of the worker when it registers functions.
 */
export function healthSchedule(
  setting: string,
  settings: Readonly<Record<string, string | undefined>> = process.env,
): string {
  return settings[setting]?.trim() ? `%${setting}%` : DEFAULT_HEALTH_SCHEDULE;
}
