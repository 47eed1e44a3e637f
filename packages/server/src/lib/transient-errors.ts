/**
 * Errors that mean "the database is not there right now" (a PostgreSQL restart, terminated backends, a full
 * connection pool), as opposed to a bad query. Requests answer them with 503 at once; queue runners wait them out.
 */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  // PostgreSQL: admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections, connection_exception class.
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);

const UNAVAILABLE_MESSAGES = [
  /connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /client has encountered a connection error/i,
  /the database system is (starting up|shutting down|in recovery mode)/i,
  /terminating connection due to administrator command/i,
  /cannot use a pool after calling end/i,
];

export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth += 1) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((m) => m.test(message))) return true;
  }
  return false;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Run `task`, retrying while the database is unavailable (backoff 100 ms doubling to 2 s) for up to `forMs`; other
 * errors, or the last outage error, are thrown. `onWait` hears each wait (to log it once).
 */
export async function whileDatabaseReturns<T>(task: () => Promise<T>, options: { forMs: number; onWait?: (error: unknown) => void; stop?: () => boolean }): Promise<T> {
  const deadline = Date.now() + options.forMs;
  let delay = 100;
  for (;;) {
    try {
      return await task();
    } catch (error) {
      if (!isDatabaseUnavailable(error) || Date.now() + delay > deadline || options.stop?.()) throw error;
      options.onWait?.(error);
      await sleep(delay);
      delay = Math.min(delay * 2, 2000);
    }
  }
}
