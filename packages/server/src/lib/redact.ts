/** Query parameters whose values are credentials: they never reach a log line. */
const SECRET_NAMES = new Set(['api_key', 'apikey', 'key', 'token', 'access_token', 'password', 'secret']);

export const REDACTED = '[redacted]';

/** A parameter name as a query parser reads it: escapes decoded, `+` a space, `[]` suffixes ignored, any case. */
function parsedName(raw: string): string {
  let name = raw.replace(/\+/g, ' ');
  try {
    name = decodeURIComponent(name);
  } catch {
    // a broken escape: judge the raw text
  }
  return name.replace(/\[.*$/, '').trim().toLowerCase();
}

/**
 * The URL with the values of credential-bearing query parameters replaced, e.g. `?api_key=[redacted]`. Names are
 * compared as the server's query parser decodes them, so `api%5fkey=` or `api_key[]=` is hidden as well.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const hash = url.indexOf('#', q);
  const query = url.slice(q + 1, hash < 0 ? undefined : hash);
  const redacted = query
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      const name = eq < 0 ? part : part.slice(0, eq);
      return SECRET_NAMES.has(parsedName(name)) ? `${name}=${REDACTED}` : part;
    })
    .join('&');
  return `${url.slice(0, q + 1)}${redacted}${hash < 0 ? '' : url.slice(hash)}`;
}
