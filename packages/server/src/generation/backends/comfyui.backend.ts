import { randomInt, randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { stripLoraTokens } from '../../lib/prompt-syntax.ts';
import { buildTxt2ImgGraph, matchLoraFile, type ComfyLora } from './comfyui.workflow.ts';
import {
  BackendError,
  fetchWithTimeout,
  isRetryableStatus,
  responseError,
  namesFrom,
  type BackendCatalog,
  type BackendHealth,
  type GenerateOptions,
  type GeneratedImage,
  type GenerationBackend,
  type GenerationOutput,
  type GenerationRequest,
} from './generation-backend.ts';

export interface ComfyuiOptions {
  baseUrl: string;
  /** Checkpoint used when a request names none; null: the first one ComfyUI lists. */
  checkpoint: string | null;
  timeoutMs: number;
  /** How often /history is polled as a fallback to the WebSocket. */
  pollIntervalMs: number;
}

const SHORT_TIMEOUT_MS = 10_000;

interface HistoryEntry {
  outputs?: Record<string, { images?: Array<{ filename: string; subfolder?: string; type?: string }> }>;
  status?: { status_str?: string; completed?: boolean; messages?: Array<[string, Record<string, unknown>]> };
}

/**
 * ComfyUI: the job becomes a txt2img graph with one LoraLoader per LoRA (vanilla ComfyUI ignores `<lora:…>` text,
 * so the tokens are taken out of the prompt), queued with POST /prompt. Progress and previews come over /ws;
 * completion is read from /history, which is also polled in case the socket drops; images come from /view.
 */
export class ComfyuiBackend implements GenerationBackend {
  readonly name = 'comfyui';
  readonly target: string;

  constructor(private readonly options: ComfyuiOptions) {
    this.target = `comfyui:${options.baseUrl}`;
  }

  get baseUrl(): string {
    return this.options.baseUrl;
  }

  private url(route: string): string {
    return `${this.options.baseUrl}${route}`;
  }

  private async getJson<T>(route: string, signal?: AbortSignal): Promise<T> {
    const res = await fetchWithTimeout('ComfyUI', this.url(route), { headers: { accept: 'application/json' }, timeoutMs: SHORT_TIMEOUT_MS, signal });
    if (!res.ok) throw new BackendError(`ComfyUI ${route} failed (HTTP ${res.status}): ${await responseError(res)}`, isRetryableStatus(res.status), res.status);
    return (await res.json()) as T;
  }

  private async post(route: string, body: unknown): Promise<void> {
    const res = await fetchWithTimeout('ComfyUI', this.url(route), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      timeoutMs: SHORT_TIMEOUT_MS,
    });
    await res.body?.cancel();
  }

  /** Coarse on purpose, like the SDNext probe: the URL setting must not turn this into a port scanner. */
  async probe(signal?: AbortSignal): Promise<BackendHealth> {
    let stats: unknown;
    try {
      stats = await this.getJson('/system_stats', signal);
    } catch (error) {
      const answered = error instanceof BackendError && error.status !== null || error instanceof SyntaxError;
      return { available: false, error: answered ? 'the server answered, but not as a ComfyUI server' : 'ComfyUI is not reachable' };
    }
    const looksRight = typeof stats === 'object' && stats !== null && 'system' in stats;
    return looksRight ? { available: true, error: null } : { available: false, error: 'the server answered, but not as a ComfyUI server' };
  }

  /** KSampler's sampler and scheduler choices and CheckpointLoaderSimple's checkpoints, from /object_info. */
  async catalog(signal?: AbortSignal): Promise<BackendCatalog> {
    type Inputs = Record<string, { input?: { required?: Record<string, [unknown]> } }>;
    const ask = (node: string) => this.getJson<Inputs>(`/object_info/${node}`, signal).catch(() => ({}) as Inputs);
    const [sampler, loader] = await Promise.all([ask('KSampler'), ask('CheckpointLoaderSimple')]);
    const required = sampler.KSampler?.input?.required;
    return {
      samplers: namesFrom(required?.sampler_name?.[0]),
      schedulers: namesFrom(required?.scheduler?.[0]),
      checkpoints: namesFrom(loader.CheckpointLoaderSimple?.input?.required?.ckpt_name?.[0]),
      currentCheckpoint: this.options.checkpoint,
    };
  }

  private async checkpoint(requested: string | null, signal: AbortSignal): Promise<string> {
    if (requested) return requested;
    if (this.options.checkpoint) return this.options.checkpoint;
    const info = await this.getJson<Record<string, { input?: { required?: { ckpt_name?: [unknown] } } }>>('/object_info/CheckpointLoaderSimple', signal);
    const names = info.CheckpointLoaderSimple?.input?.required?.ckpt_name?.[0];
    if (Array.isArray(names) && typeof names[0] === 'string') return names[0];
    throw new BackendError('ComfyUI lists no checkpoint: put one in its models/checkpoints folder or set COMFYUI_CHECKPOINT', false);
  }

  private async loraFiles(signal: AbortSignal): Promise<string[]> {
    try {
      const list = await this.getJson<unknown>('/models/loras', signal);
      if (Array.isArray(list)) return list.filter((x): x is string => typeof x === 'string');
    } catch (error) {
      if (signal.aborted) throw error;
    }
    const info = await this.getJson<Record<string, { input?: { required?: { lora_name?: [unknown] } } }>>('/object_info/LoraLoader', signal);
    const names = info.LoraLoader?.input?.required?.lora_name?.[0];
    return Array.isArray(names) ? names.filter((x): x is string => typeof x === 'string') : [];
  }

  async generate(request: GenerationRequest, options: GenerateOptions): Promise<GenerationOutput> {
    const { signal } = options;
    const p = request.params;
    const checkpoint = await this.checkpoint(p.checkpoint, signal);
    const loras: ComfyLora[] = [];
    if (request.loras.length > 0) {
      const available = await this.loraFiles(signal);
      for (const lora of request.loras) {
        const file = matchLoraFile(available, [lora.relativePath, lora.filePath?.split(/[\\/]/).pop() ?? null, `${lora.name}.safetensors`, lora.name]);
        if (!file) throw new BackendError(`ComfyUI does not have the LoRA "${lora.name}" in its loras folder`, false);
        loras.push({ file, strengthModel: lora.unet ?? lora.weight, strengthClip: lora.te ?? lora.weight });
      }
    }

    const clientId = randomUUID();
    const socket = new ProgressSocket(this.url(`/ws?clientId=${clientId}`).replace(/^http/, 'ws'));
    const baseSeed = p.seed >= 0 ? p.seed : randomInt(0, 2 ** 32 - 1);
    const images: GeneratedImage[] = [];
    const promptIds: string[] = [];
    let current: string | null = null;
    const onAbort = () => {
      // Take a still-queued prompt out of ComfyUI's queue, and stop the running one.
      if (current) void this.post('/queue', { delete: [current] }).catch(() => undefined);
      void this.interrupt().catch(() => undefined);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const deadline = AbortSignal.timeout(this.options.timeoutMs);
    try {
      await socket.opened(signal);
      for (let iter = 0; iter < p.n_iter; iter++) {
        const seed = (baseSeed + iter) % 2 ** 32;
        const graph = buildTxt2ImgGraph({
          params: p,
          positive: stripLoraTokens(p.prompt),
          checkpoint,
          loras,
          seed,
          filenamePrefix: `lora-manager/${request.jobId}`,
        });
        current = await this.queuePrompt(graph, clientId, signal);
        promptIds.push(current);
        const entry = await this.waitFor(current, socket, signal, deadline, (value, max, preview) =>
          options.onProgress({
            progress: Math.min(1, (iter + (max > 0 ? value / max : 0)) / p.n_iter),
            step: value,
            totalSteps: max,
            etaSeconds: null,
            preview,
          }),
        );
        for (const ref of outputImages(entry)) images.push({ data: await this.view(ref, signal), infotext: null, seed });
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      socket.close();
    }
    if (images.length === 0) throw new BackendError('ComfyUI finished without saving an image', false);
    return {
      images,
      info: { backend: 'comfyui', prompt_ids: promptIds, checkpoint, seed: baseSeed, loras: loras.map((l) => ({ ...l })), sd_model_name: checkpoint },
    };
  }

  private async queuePrompt(graph: unknown, clientId: string, signal: AbortSignal): Promise<string> {
    const res = await fetchWithTimeout('ComfyUI', this.url('/prompt'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: graph, client_id: clientId }),
      timeoutMs: SHORT_TIMEOUT_MS,
      signal,
    });
    if (!res.ok) {
      const text = await res.text().catch(() => '');
      let detail = text.slice(0, 2000) || `HTTP ${res.status}`;
      try {
        const body = JSON.parse(text) as { error?: { message?: string; details?: string }; node_errors?: Record<string, { errors?: Array<{ message?: string; details?: string }> }> };
        const nodeErrors = Object.values(body.node_errors ?? {}).flatMap((n) => n.errors ?? []);
        detail = [body.error?.message, ...nodeErrors.map((e) => [e.message, e.details].filter(Boolean).join(': '))].filter(Boolean).join('; ') || detail;
      } catch {
        /* keep the text */
      }
      throw new BackendError(`ComfyUI refused the workflow (HTTP ${res.status}): ${detail}`, isRetryableStatus(res.status), res.status);
    }
    const body = (await res.json()) as { prompt_id?: string };
    if (!body.prompt_id) throw new BackendError('ComfyUI accepted the workflow without a prompt_id', true);
    return body.prompt_id;
  }

  /** Resolve with the history entry when the prompt finished; the socket and a /history poll race to notice it. */
  private async waitFor(
    promptId: string,
    socket: ProgressSocket,
    signal: AbortSignal,
    deadline: AbortSignal,
    onProgress: (value: number, max: number, preview: Buffer | null) => void,
  ): Promise<HistoryEntry> {
    let lastValue = 0;
    let lastMax = 0;
    socket.listen((message) => {
      if (message.kind === 'preview') return onProgress(lastValue, lastMax, message.data);
      const data = message.data as { prompt_id?: string; value?: number; max?: number };
      if (data.prompt_id !== undefined && data.prompt_id !== promptId) return;
      if (message.type === 'progress' && typeof data.value === 'number' && typeof data.max === 'number') {
        lastValue = data.value;
        lastMax = data.max;
        onProgress(data.value, data.max, null);
      }
    });
    for (;;) {
      signal.throwIfAborted();
      if (deadline.aborted) throw new BackendError(`ComfyUI did not finish within ${Math.round(this.options.timeoutMs / 1000)} s`, true, null, true);
      const history = await this.getJson<Record<string, HistoryEntry>>(`/history/${encodeURIComponent(promptId)}`, signal);
      const entry = history[promptId];
      if (entry?.status?.status_str === 'error') {
        const error = entry.status.messages?.find(([type]) => type === 'execution_error')?.[1];
        const text = error ? [error.exception_type, error.exception_message].filter(Boolean).join(': ') : 'execution error';
        throw new BackendError(`ComfyUI failed to run the workflow: ${text}`, false);
      }
      if (entry && (entry.status?.completed || (entry.outputs && Object.keys(entry.outputs).length > 0))) return entry;
      await socket.next(this.options.pollIntervalMs, signal);
    }
  }

  private async view(ref: { filename: string; subfolder?: string; type?: string }, signal: AbortSignal): Promise<Buffer> {
    const query = new URLSearchParams({ filename: ref.filename, subfolder: ref.subfolder ?? '', type: ref.type ?? 'output' });
    const res = await fetchWithTimeout('ComfyUI', this.url(`/view?${query}`), { timeoutMs: this.options.timeoutMs, signal });
    if (!res.ok) throw new BackendError(`ComfyUI /view of ${ref.filename} failed (HTTP ${res.status})`, isRetryableStatus(res.status), res.status);
    return Buffer.from(await res.arrayBuffer());
  }

  async interrupt(): Promise<void> {
    await this.post('/interrupt', {});
  }
}

function outputImages(entry: HistoryEntry): Array<{ filename: string; subfolder?: string; type?: string }> {
  return Object.values(entry.outputs ?? {})
    .flatMap((o) => o.images ?? [])
    .filter((img) => (img.type ?? 'output') === 'output');
}

type SocketMessage = { kind: 'json'; type: string; data: unknown } | { kind: 'preview'; data: Buffer };

/**
 * The ComfyUI /ws connection for one job. Optional: when it cannot connect, completion is still found by polling
 * /history, only without step progress.
 */
class ProgressSocket {
  private ws: WebSocket | null = null;
  private listener: ((m: SocketMessage) => void) | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly url: string) {}

  async opened(signal: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => {
      const ws = new WebSocket(this.url, { handshakeTimeout: SHORT_TIMEOUT_MS });
      const done = () => {
        signal.removeEventListener('abort', done);
        resolve();
      };
      signal.addEventListener('abort', done, { once: true });
      ws.once('open', () => {
        this.ws = ws;
        done();
      });
      // Errors after the handshake end in 'close'; a listener must stay so they never go unhandled.
      ws.on('error', () => done());
      ws.on('message', (raw, isBinary) => this.receive(raw as Buffer, isBinary));
      ws.on('close', () => this.poke());
    });
  }

  private receive(raw: Buffer, isBinary: boolean): void {
    if (isBinary) {
      // 4-byte event type (1 = preview image), 4-byte image format, then the image.
      if (raw.length > 8 && raw.readUInt32BE(0) === 1) this.listener?.({ kind: 'preview', data: Buffer.from(raw.subarray(8)) });
      return;
    }
    try {
      const message = JSON.parse(raw.toString('utf8')) as { type?: string; data?: unknown };
      if (typeof message.type !== 'string') return;
      this.listener?.({ kind: 'json', type: message.type, data: message.data ?? {} });
      // Any sign that a prompt ended is a reason to look at /history now rather than at the next poll.
      if (['executing', 'execution_success', 'execution_error', 'execution_interrupted', 'executed'].includes(message.type)) this.poke();
    } catch {
      /* not JSON: ignore */
    }
  }

  listen(listener: (m: SocketMessage) => void): void {
    this.listener = listener;
  }

  private poke(): void {
    this.wake?.();
  }

  /** Wait up to `ms`, or less when the socket says something ended. */
  async next(ms: number, signal: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(finish, ms);
      function finish() {
        clearTimeout(timer);
        signal.removeEventListener('abort', finish);
        resolve();
      }
      this.wake = finish;
      signal.addEventListener('abort', finish, { once: true });
    });
    this.wake = null;
  }

  close(): void {
    this.listener = null;
    this.ws?.close();
  }
}
