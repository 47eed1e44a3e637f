import net from 'node:net';
import os from 'node:os';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, ForbiddenOriginError } from '../errors.ts';
import { refuseUpgrade } from './problem.ts';

export interface OriginGuardOptions {
  apiKey: string | null;
  /** CORS_ORIGINS: other origins whose pages may call this API. */
  trustedOrigins: readonly string[];
  /** ALLOWED_HOSTS: extra host names the server answers to without an API key. */
  allowedHosts: readonly string[];
}

class HostNotAllowedError extends AppError {
  constructor(host: string) {
    super(403, 'host_not_allowed', `This server does not answer to the name ${host}`, 'Open it by IP address, localhost or this machine\'s name, list the name in ALLOWED_HOSTS, or set API_KEY.');
  }
}

/** The host name a request addressed, without port or IPv6 brackets, lower case. */
function hostName(hostHeader: string | undefined): string {
  const host = (hostHeader ?? '').trim().toLowerCase();
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']') > 0 ? host.indexOf(']') : undefined);
  return host.replace(/:\d*$/, '');
}

function sameHost(origin: string, hostHeader: string | undefined): boolean {
  try {
    return new URL(origin).host === (hostHeader ?? '').toLowerCase();
  } catch {
    return false;
  }
}

/**
 * What a browser could be made to do on a visitor's behalf, refused before anything else runs:
 * - Writes and WebSocket upgrades from another site's page (CSRF, cross-site WebSocket hijacking): a browser names the
 *   page's origin, and it must be this server's own or one in CORS_ORIGINS. Clients that are not browsers send no
 *   Origin and are not affected.
 * - DNS rebinding: without an API key, a page whose own name has been pointed at this machine could read the API as
 *   same-origin. So without a key the server answers only to loopback names, IP addresses, this machine's name and
 *   ALLOWED_HOSTS. With a key, the key is the defence (such a page never has it).
 */
export function registerOriginGuard(app: FastifyInstance, options: OriginGuardOptions): void {
  const machine = os.hostname().toLowerCase();
  const knownNames = new Set(['localhost', machine, `${machine}.local`, ...options.allowedHosts]);
  const hostAllowed = (name: string) => knownNames.has(name) || name.endsWith('.localhost') || net.isIP(name) !== 0;

  function check(request: FastifyRequest): AppError | null {
    if (!options.apiKey) {
      const name = hostName(request.headers.host);
      if (!hostAllowed(name)) return new HostNotAllowedError(name);
    }
    const reads = request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS';
    if (reads && !request.headers.upgrade) return null;
    const origin = request.headers.origin;
    if (origin !== undefined) {
      return sameHost(origin, request.headers.host) || options.trustedOrigins.includes(origin) ? null : new ForbiddenOriginError();
    }
    // Without Origin, a browser still says where the request came from.
    const site = request.headers['sec-fetch-site'];
    return site === 'cross-site' || site === 'same-site' ? new ForbiddenOriginError() : null;
  }

  app.addHook('onRequest', async (request, reply) => {
    const error = check(request);
    if (!error) return;
    if (request.headers.upgrade) return refuseUpgrade(request, reply, error);
    throw error;
  });
}
