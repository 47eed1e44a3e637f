import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { formatInfotext } from '../../src/lib/infotext.ts';
import { withTextChunk } from '../../src/lib/png.ts';

/**
 * An AUTOMATIC1111/SDNext-compatible server for tests: a real HTTP server on 127.0.0.1 that speaks the documented
 * /sdapi/v1 protocol. txt2img walks through its steps (progress is visible on /progress meanwhile), can be held
 * at a step, interrupted, or made to fail, and returns real PNGs carrying an A1111 `parameters` infotext.
 */

export interface RecordedRequest {
  method: string;
  path: string;
  body: any;
  headers: http.IncomingHttpHeaders;
  at: number;
}

export interface A1111TestServerOptions {
  /** Require HTTP Basic with these credentials. */
  auth?: { username: string; password: string };
  /** Pause between sampling steps. */
  stepDelayMs?: number;
  /** Answer /interrupt with 204 and report a task id on /progress, as SDNext does. */
  sdnext?: boolean;
  /** Include a live preview image in /progress while sampling. */
  livePreview?: boolean;
}

interface Running {
  taskId: string;
  step: number;
  steps: number;
  jobNo: number;
  jobCount: number;
  interrupted: boolean;
}

export interface A1111TestServer {
  url: string;
  requests: RecordedRequest[];
  /** The most txt2img calls that were ever in flight at once. */
  maxConcurrent: number;
  /** Make the next `count` txt2img calls fail with this status and message. */
  failNext(count: number, status?: number, message?: string): void;
  /** Hold generations once they reach `atStep` (default 2) until release(). Progress keeps being reported. */
  hold(atStep?: number): void;
  release(): void;
  /** Resolves once `count` requests to `path` have arrived (counting those already seen). */
  waitFor(path: string, count?: number): Promise<RecordedRequest>;
  /** Resolves when a generation is at `step` or later. */
  waitForStep(step: number): Promise<void>;
  count(path: string): number;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function readBody(req: http.IncomingMessage): Promise<any> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A real PNG whose colour depends on the seed, with the infotext A1111 would write. */
export async function makeTestPng(width: number, height: number, seed: number, infotext: string | null): Promise<Buffer> {
  const png = await sharp({
    create: { width, height, channels: 3, background: { r: seed % 256, g: (seed >> 8) % 256, b: (seed >> 16) % 256 } },
  })
    .png({ compressionLevel: 1 })
    .toBuffer();
  return infotext === null ? png : withTextChunk(png, 'parameters', infotext);
}

export async function startA1111TestServer(options: A1111TestServerOptions = {}): Promise<A1111TestServer> {
  const requests: RecordedRequest[] = [];
  const waiters: Array<{ path: string; count: number; resolve: (r: RecordedRequest) => void }> = [];
  const stepWaiters: Array<{ step: number; resolve: () => void }> = [];
  const running = new Set<Running>();
  const failures: Array<{ status: number; message: string }> = [];
  let heldAt: number | null = null;
  let inFlight = 0;
  const state = { maxConcurrent: 0 };
  const stepDelay = options.stepDelayMs ?? 5;

  const notifyStep = () => {
    for (const w of [...stepWaiters]) {
      if ([...running].some((r) => r.step >= w.step)) {
        stepWaiters.splice(stepWaiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };

  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, body === undefined ? {} : { 'content-type': 'application/json' });
    res.end(text);
  };

  const txt2img = async (body: any, res: http.ServerResponse) => {
    const failure = failures.shift();
    if (failure) return send(res, failure.status, { error: 'HTTPException', detail: failure.message, body: '', errors: '' });
    inFlight += 1;
    state.maxConcurrent = Math.max(state.maxConcurrent, inFlight);
    const steps = Number(body.steps ?? 20);
    const nIter = Number(body.n_iter ?? 1);
    const batch = Number(body.batch_size ?? 1);
    const width = Number(body.width ?? 512);
    const height = Number(body.height ?? 512);
    const seed = Number(body.seed ?? -1) >= 0 ? Number(body.seed) : 1000 + requests.length;
    const job: Running = { taskId: String(body.force_task_id ?? `task(${requests.length})`), step: 0, steps, jobNo: 0, jobCount: nIter, interrupted: false };
    running.add(job);
    try {
      for (let iter = 0; iter < nIter && !job.interrupted; iter++) {
        job.jobNo = iter;
        for (let step = 1; step <= steps && !job.interrupted; step++) {
          await sleep(stepDelay);
          job.step = step;
          notifyStep();
          while (heldAt !== null && step >= heldAt && !job.interrupted) await sleep(5);
        }
      }
      const seeds = Array.from({ length: batch * nIter }, (_, i) => seed + i);
      const infotexts = seeds.map((s) =>
        formatInfotext(body.prompt ?? '', body.negative_prompt ?? '', [
          ['Steps', steps],
          ['Sampler', body.sampler_name ?? 'Euler'],
          ['CFG scale', body.cfg_scale ?? 7],
          ['Seed', s],
          ['Size', `${width}x${height}`],
          ['Model', 'test-model'],
          ['Version', 'test-a1111'],
        ]),
      );
      // Like A1111, an interrupted run still answers with what it has.
      const count = job.interrupted ? 1 : seeds.length;
      const images = await Promise.all(seeds.slice(0, count).map((s, i) => makeTestPng(width, height, s, infotexts[i])));
      send(res, 200, {
        images: images.map((b) => b.toString('base64')),
        parameters: body,
        info: JSON.stringify({
          prompt: body.prompt,
          all_prompts: seeds.map(() => body.prompt),
          negative_prompt: body.negative_prompt,
          seed,
          all_seeds: seeds,
          width,
          height,
          sampler_name: body.sampler_name,
          cfg_scale: body.cfg_scale,
          steps,
          sd_model_name: 'test-model',
          infotexts,
          version: 'test-a1111',
        }),
      });
    } finally {
      running.delete(job);
      inFlight -= 1;
    }
  };

  const progress = async (res: http.ServerResponse) => {
    const job = [...running][0];
    if (!job) return send(res, 200, { progress: 0, eta_relative: 0, state: { job_count: 0, job_no: 0, sampling_step: 0, sampling_steps: 0, interrupted: false }, current_image: null, textinfo: null });
    const fraction = Math.min(1, (job.jobNo + job.step / job.steps) / job.jobCount);
    const preview = options.livePreview && job.step > 0 ? (await makeTestPng(16, 16, job.step, null)).toString('base64') : null;
    send(res, 200, {
      progress: Number(fraction.toFixed(3)),
      eta_relative: ((1 - fraction) * job.steps * job.jobCount * stepDelay) / 1000,
      state: { skipped: false, interrupted: job.interrupted, job: job.taskId, job_count: job.jobCount, job_no: job.jobNo, sampling_step: job.step, sampling_steps: job.steps },
      current_image: preview,
      textinfo: null,
      ...(options.sdnext ? { id: job.taskId } : {}),
    });
  };

  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const body = await readBody(req);
      const record: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, body, headers: req.headers, at: Date.now() };
      requests.push(record);
      for (const w of [...waiters]) {
        if (w.path === url.pathname && requests.filter((r) => r.path === w.path).length >= w.count) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(record);
        }
      }
      if (options.auth) {
        const expected = `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}`;
        if (req.headers.authorization !== expected) {
          res.writeHead(401, { 'www-authenticate': 'Basic', 'content-type': 'application/json' });
          return res.end(JSON.stringify({ detail: 'Incorrect username or password' }));
        }
      }
      const route = `${req.method} ${url.pathname}`;
      switch (route) {
        case 'POST /sdapi/v1/txt2img':
          return txt2img(body ?? {}, res);
        case 'GET /sdapi/v1/progress':
          return progress(res);
        case 'POST /sdapi/v1/interrupt':
          for (const job of running) job.interrupted = true;
          return options.sdnext ? send(res, 204, undefined) : send(res, 200, {});
        case 'GET /sdapi/v1/options':
          return send(res, 200, { sd_model_checkpoint: 'test-model.safetensors', samples_format: 'png' });
        case 'GET /sdapi/v1/samplers':
          return send(res, 200, [{ name: 'Euler', aliases: [], options: {} }, { name: 'DPM++ 2M', aliases: [], options: {} }]);
        case 'GET /sdapi/v1/schedulers':
          return send(res, 200, [{ name: 'automatic', label: 'Automatic' }, { name: 'karras', label: 'Karras' }]);
        case 'GET /sdapi/v1/sd-models':
          return send(res, 200, [
            { title: 'test-model.safetensors [abc123]', model_name: 'test-model', filename: '/models/test-model.safetensors' },
            { title: 'other-model.safetensors [def456]', model_name: 'other-model', filename: '/models/other-model.safetensors' },
          ]);
        default:
          return send(res, 404, { detail: 'Not Found' });
      }
    })().catch((error: unknown) => {
      res.writeHead(500);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get maxConcurrent() {
      return state.maxConcurrent;
    },
    failNext(count, status = 500, message = 'CUDA out of memory') {
      for (let i = 0; i < count; i++) failures.push({ status, message });
    },
    hold(atStep = 2) {
      heldAt = atStep;
    },
    release() {
      heldAt = null;
    },
    waitFor(path, count = 1) {
      const seen = requests.filter((r) => r.path === path);
      if (seen.length >= count) return Promise.resolve(seen[count - 1]);
      return new Promise((resolve) => waiters.push({ path, count, resolve }));
    },
    waitForStep(step) {
      if ([...running].some((r) => r.step >= step)) return Promise.resolve();
      return new Promise((resolve) => stepWaiters.push({ step, resolve }));
    },
    count(path) {
      return requests.filter((r) => r.path === path).length;
    },
    async close() {
      for (const job of running) job.interrupted = true;
      heldAt = null;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  } as A1111TestServer;
}
