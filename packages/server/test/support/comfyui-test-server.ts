import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { makeTestPng } from './a1111-test-server.ts';

/**
 * A ComfyUI-compatible server for tests: POST /prompt validates an API-format graph the way ComfyUI does (known
 * node types, LoRA and checkpoint names it lists), runs it step by step with `progress` and binary preview frames
 * on /ws, writes a history entry, and serves the images from /view. /interrupt stops the running prompt.
 */

export interface ComfyTestServer {
  url: string;
  prompts: Array<{ id: string; graph: Record<string, { class_type: string; inputs: Record<string, unknown> }>; clientId: string }>;
  interrupts: number;
  /** Hold the running prompt once it reaches `atStep` (default 2) until release(). */
  hold(atStep?: number): void;
  release(): void;
  waitForStep(step: number): Promise<void>;
  close(): Promise<void>;
}

const NODE_TYPES = new Set(['CheckpointLoaderSimple', 'LoraLoader', 'CLIPSetLastLayer', 'CLIPTextEncode', 'EmptyLatentImage', 'KSampler', 'VAEDecode', 'SaveImage']);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startComfyTestServer(options: { loras?: string[]; checkpoints?: string[]; stepDelayMs?: number } = {}): Promise<ComfyTestServer> {
  const loras = options.loras ?? ['styles/inkwash.safetensors', 'detail.safetensors'];
  const checkpoints = options.checkpoints ?? ['sdxl-base.safetensors'];
  const stepDelay = options.stepDelayMs ?? 3;
  const history: Record<string, unknown> = {};
  const files = new Map<string, Buffer>();
  const sockets = new Map<string, WebSocket>();
  const queue: Array<() => Promise<void>> = [];
  const stepWaiters: Array<{ step: number; resolve: () => void }> = [];
  const state = { interrupts: 0, interrupted: false, heldAt: null as number | null, step: 0, busy: false };
  const prompts: ComfyTestServer['prompts'] = [];

  const send = (clientId: string, type: string, data: unknown) => sockets.get(clientId)?.send(JSON.stringify({ type, data }));

  const pump = async () => {
    if (state.busy) return;
    state.busy = true;
    while (queue.length > 0) await queue.shift()!();
    state.busy = false;
  };

  const run = (id: string, graph: ComfyTestServer['prompts'][number]['graph'], clientId: string) => async () => {
    state.interrupted = false;
    const sampler = Object.values(graph).find((n) => n.class_type === 'KSampler')!;
    const latent = Object.values(graph).find((n) => n.class_type === 'EmptyLatentImage')!;
    const steps = Number(sampler.inputs.steps);
    send(clientId, 'execution_start', { prompt_id: id });
    for (let step = 1; step <= steps && !state.interrupted; step++) {
      await sleep(stepDelay);
      state.step = step;
      send(clientId, 'progress', { value: step, max: steps, prompt_id: id, node: '6' });
      const preview = await makeTestPng(8, 8, step, null);
      const frame = Buffer.alloc(8);
      frame.writeUInt32BE(1, 0);
      frame.writeUInt32BE(2, 4);
      sockets.get(clientId)?.send(Buffer.concat([frame, preview]));
      for (const w of [...stepWaiters]) {
        if (step < w.step) continue;
        stepWaiters.splice(stepWaiters.indexOf(w), 1);
        w.resolve();
      }
      while (state.heldAt !== null && step >= state.heldAt && !state.interrupted) await sleep(5);
    }
    state.step = 0;
    if (state.interrupted) {
      history[id] = { prompt: [], outputs: {}, status: { status_str: 'error', completed: false, messages: [['execution_interrupted', { prompt_id: id }]] } };
      send(clientId, 'execution_interrupted', { prompt_id: id });
      return;
    }
    const images = [];
    for (let i = 0; i < Number(latent.inputs.batch_size); i++) {
      const filename = `lm_${id.slice(0, 8)}_${i}.png`;
      // ComfyUI PNGs carry the graph, not A1111 parameters.
      files.set(filename, await makeTestPng(Number(latent.inputs.width), Number(latent.inputs.height), Number(sampler.inputs.seed) + i, null));
      images.push({ filename, subfolder: 'lora-manager', type: 'output' });
    }
    history[id] = { prompt: [], outputs: { '8': { images } }, status: { status_str: 'success', completed: true, messages: [] } };
    send(clientId, 'executing', { node: null, prompt_id: id });
    send(clientId, 'execution_success', { prompt_id: id });
  };

  const validate = (graph: ComfyTestServer['prompts'][number]['graph']): string[] => {
    const errors: string[] = [];
    for (const [nodeId, node] of Object.entries(graph)) {
      if (!NODE_TYPES.has(node.class_type)) errors.push(`${nodeId}: unknown node type ${node.class_type}`);
      if (node.class_type === 'LoraLoader' && !loras.includes(String(node.inputs.lora_name))) errors.push(`${nodeId}: Value not in list: lora_name: '${node.inputs.lora_name}'`);
      if (node.class_type === 'CheckpointLoaderSimple' && !checkpoints.includes(String(node.inputs.ckpt_name))) errors.push(`${nodeId}: Value not in list: ckpt_name`);
      for (const value of Object.values(node.inputs)) {
        if (Array.isArray(value) && !graph[String(value[0])]) errors.push(`${nodeId}: link to missing node ${value[0]}`);
      }
    }
    return errors;
  };

  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : null;
      const route = `${req.method} ${url.pathname}`;
      if (route === 'GET /system_stats') return json(res, 200, { system: { os: 'posix', comfyui_version: 'test' }, devices: [] });
      if (route === 'GET /object_info/CheckpointLoaderSimple') return json(res, 200, { CheckpointLoaderSimple: { input: { required: { ckpt_name: [checkpoints] } } } });
      if (route === 'GET /object_info/KSampler') {
        return json(res, 200, { KSampler: { input: { required: { sampler_name: [['euler', 'dpmpp_2m']], scheduler: [['normal', 'karras']] } } } });
      }
      if (route === 'GET /models/loras') return json(res, 200, loras);
      if (route === 'POST /prompt') {
        const errors = validate(body.prompt);
        if (errors.length > 0) return json(res, 400, { error: { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details: '' }, node_errors: { x: { errors: errors.map((m) => ({ message: m })) } } });
        const id = randomUUID();
        prompts.push({ id, graph: body.prompt, clientId: body.client_id });
        queue.push(run(id, body.prompt, body.client_id));
        void pump();
        return json(res, 200, { prompt_id: id, number: prompts.length, node_errors: {} });
      }
      if (req.method === 'GET' && url.pathname.startsWith('/history/')) {
        const id = decodeURIComponent(url.pathname.slice('/history/'.length));
        return json(res, 200, history[id] ? { [id]: history[id] } : {});
      }
      if (route === 'GET /view') {
        const file = files.get(url.searchParams.get('filename') ?? '');
        if (!file || url.searchParams.get('type') !== 'output') return json(res, 404, {});
        res.writeHead(200, { 'content-type': 'image/png' });
        return res.end(file);
      }
      if (route === 'POST /interrupt') {
        state.interrupts += 1;
        state.interrupted = true;
        return json(res, 200, {});
      }
      if (route === 'POST /queue') return json(res, 200, {});
      json(res, 404, {});
    });
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/ws') return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      const clientId = url.searchParams.get('clientId') ?? randomUUID();
      sockets.set(clientId, ws);
      ws.send(JSON.stringify({ type: 'status', data: { status: { exec_info: { queue_remaining: queue.length } }, sid: clientId } }));
      ws.on('close', () => sockets.delete(clientId));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    prompts,
    get interrupts() {
      return state.interrupts;
    },
    hold(atStep = 2) {
      state.heldAt = atStep;
    },
    release() {
      state.heldAt = null;
    },
    waitForStep(step) {
      if (state.step >= step) return Promise.resolve();
      return new Promise((resolve) => stepWaiters.push({ step, resolve }));
    },
    async close() {
      state.interrupted = true;
      state.heldAt = null;
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  } as ComfyTestServer;
}
