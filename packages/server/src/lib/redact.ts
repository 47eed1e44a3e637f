/** Query parameters whose values are credentials: they never reach a log line. */
const SECRET_PARAMS = /([?&](?:api_key|apikey|key|token|access_token|password|secret)=)[^&#]*/gi;

export const REDACTED = '[redacted]';

/** The URL with the values of credential-bearing query parameters replaced, e.g. `?api_key=[redacted]`. */
export function redactUrl(url: string): string {
  return url.replace(SECRET_PARAMS, `$1${REDACTED}`);
}
