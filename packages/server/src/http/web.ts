import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { sendProblem } from './problem.ts';

const DEFAULT_DIST = fileURLToPath(new URL('../../../web/dist', import.meta.url));

/**
 * Serve the built SPA at `/`. Unknown non-API GETs answer with index.html so history-mode routes survive a reload;
 * unknown API paths answer a problem document.
 */
export async function registerWebApp(app: FastifyInstance, distDir: string | null): Promise<void> {
  const root = path.resolve(distDir ?? DEFAULT_DIST);
  const hasApp = fs.existsSync(path.join(root, 'index.html'));
  if (hasApp) {
    await app.register(fastifyStatic, { root, wildcard: false, index: 'index.html', maxAge: '1h' });
  } else {
    app.log.warn({ root }, 'web app not built: run `npm run build` to serve the interface at /');
  }
  app.setNotFoundHandler((request, reply) => {
    const url = request.url.split('?', 1)[0];
    const isApi = url.startsWith('/api') || url === '/health' || url.startsWith('/frontend');
    if (hasApp && !isApi && (request.method === 'GET' || request.method === 'HEAD') && !path.extname(url)) {
      return reply.header('cache-control', 'no-cache').sendFile('index.html');
    }
    return sendProblem(reply, { status: 404, code: 'route_not_found', title: `No route for ${request.method} ${url}` });
  });
}
