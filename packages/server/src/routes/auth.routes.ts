import { SessionInfo } from '@lora-manager/contract';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { SESSION_COOKIE } from '../http/auth.ts';
import type { Clock } from '../lib/clock.ts';
import type { SessionTokens } from '../lib/session-token.ts';
import { toIso } from '../lib/time.ts';

/** A day: the web app asks for a fresh session at every start and twice a day while it stays open. */
export const SESSION_TTL_MS = 24 * 60 * 60 * 1000;

function setSessionCookie(request: FastifyRequest, reply: FastifyReply, value: string, maxAgeSeconds: number): void {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  reply.header('set-cookie', `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`);
}

/** The browser session: created with the key (the auth hook has checked it), ended by anyone holding the cookie. */
export const authRoutes: FastifyPluginAsync<{ sessions: SessionTokens | null; clock: Clock }> = async (app, { sessions, clock }) => {
  const tags = ['system'];
  app.post('/auth/session', { schema: { tags, response: { 200: SessionInfo } } }, async (request, reply) => {
    if (!sessions) return { api_key_required: false, expires_at: null };
    const expiresAt = clock.now().getTime() + SESSION_TTL_MS;
    setSessionCookie(request, reply, sessions.issue(expiresAt), SESSION_TTL_MS / 1000);
    return { api_key_required: true, expires_at: toIso(expiresAt) };
  });

  // Public: clearing a cookie grants nothing, and a user whose key changed must still be able to sign out.
  app.delete('/auth/session', { config: { public: true }, schema: { tags } }, async (request, reply) => {
    setSessionCookie(request, reply, '', 0);
    return reply.code(204).send();
  });
};
