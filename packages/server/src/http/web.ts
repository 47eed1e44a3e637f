import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { sendProblem } from './problem.ts';

const DEFAULT_DIST = fileURLToPath(new URL('../../../web/dist', import.meta.url));

/** Whether a path that matched no route was meant for the API, however it is spelled (case, escapes, doubled slashes). */
function looksLikeApi(url: string): boolean {
  let decoded = url;
  try {
    decoded = decodeURIComponent(url);
  } catch {
    // an escape that does not decode: judge the raw text
  }
  const p = decoded.toLowerCase().replace(/[\\/]+/g, '/');
  return p.startsWith('/api') || p.startsWith('/v1/') || p === '/health' || p.startsWith('/frontend');
}

/**
 * Serve the built SPA at `/`. Unknown non-API GETs answer with index.html so history-mode routes survive a reload;
 * unknown API paths answer a problem document.
 */
export async function registerWebApp(app: FastifyInstance, distDir: string | null): Promise<void> {
  const root = path.resolve(distDir ?? DEFAULT_DIST);
  const hasApp = fs.existsSync(path.join(root, 'index.html'));
  if (hasApp) {
    // The app's own files are public (the page must load before it knows the key); @fastify/static marks each
    // file route with the folder it serves from.
    app.addHook('onRoute', (route) => {
      const served = (route.config as { rootPath?: unknown } | undefined)?.rootPath;
      if (typeof served === 'string' && path.resolve(served) === root) route.config!.public = true;
    });
    await app.register(fastifyStatic, { root, wildcard: false, index: 'index.html', maxAge: '1h' });
  } else {
    app.log.warn({ root }, 'web app not built: run `npm run build` to serve the interface at /');
  }
  app.setNotFoundHandler((request, reply) => {
    const url = request.url.split('?', 1)[0]!;
    const isApi = looksLikeApi(url);
    if (hasApp && !isApi && (request.method === 'GET' || request.method === 'HEAD') && !path.extname(url)) {
      return reply.header('cache-control', 'no-cache').sendFile('index.html');
    }
    return sendProblem(reply, { status: 404, code: 'route_not_found', title: `No route for ${request.method} ${url}` });
  });
}
