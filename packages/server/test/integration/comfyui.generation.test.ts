import fs from 'node:fs';
import path from 'node:path';
import type { JobEvent } from '@lora-manager/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTextChunks } from '../../src/lib/png.ts';
import { startComfyTestServer, type ComfyTestServer } from '../support/comfyui-test-server.ts';
import { createTestApp, type TestApp } from '../support/test-app.ts';
import { until } from '../support/wait.ts';

const API = '/api/v1';

describe('ComfyUI backend', () => {
  let comfy: ComfyTestServer;
  let t: TestApp;
  const events: JobEvent[] = [];
  const adapters: Record<string, string> = {};

  beforeAll(async () => {
    comfy = await startComfyTestServer();
    t = await createTestApp('sqlite', { COMFYUI_BASE_URL: comfy.url, SDNEXT_POLL_INTERVAL: '0.05', GENERATION_MAX_ATTEMPTS: '2', GENERATION_BACKOFF_MS: '5' });
    t.container.events.subscribe('jobs', (e) => events.push(e as JobEvent));
    for (const [name, file] of [
      ['Ink Wash', 'styles/inkwash.safetensors'],
      ['detail', 'detail.safetensors'],
      ['unknown-to-comfy', 'elsewhere/nothere.safetensors'],
    ]) {
      const res = await t.app.inject({ method: 'POST', url: `${API}/adapters`, payload: { name, file_path: t.libraryFile(file) } });
      adapters[name] = res.json().adapter.id;
    }
  });
  afterAll(async () => {
    await t?.close();
    await comfy?.close();
  });

  it('builds a LoraLoader chain, streams progress and previews, and stores the images with an infotext', async () => {
    comfy.hold(2);
    const res = await t.app.inject({
      method: 'POST',
      url: `${API}/compose`,
      payload: {
        prefix: 'a castle,',
        syntax: 'comfyui',
        adapters: [
          { id: adapters['Ink Wash'], weight: 0.7, te_weight: 0.4 },
          { id: adapters.detail, weight: 0.5 },
        ],
        delivery: {
          mode: 'comfyui',
          sdnext: { generation_params: { prompt: '', negative_prompt: 'blurry', steps: 5, width: 48, height: 32, seed: 99, batch_size: 2, sampler_name: 'DPM++ 2M Karras' }, mode: 'deferred' },
        },
      },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().prompt).toBe('a castle, <lora:Ink Wash:0.7:0.4> <lora:detail:0.5>');
    const id = res.json().delivery.id;

    await comfy.waitForStep(2);
    const progress = await until('ComfyUI step progress', () => events.find((e) => e.job.id === id && e.change === 'progress' && e.job.progress_detail?.step === 2));
    expect(progress.job.progress_detail).toMatchObject({ total_steps: 5 });
    const preview = await until('a preview', () => events.find((e) => e.job.id === id && e.job.progress_detail?.preview)?.job.progress_detail?.preview ?? undefined);
    expect((await t.app.inject(preview)).headers['content-type']).toBe('image/png');
    comfy.release();
    await t.container.queue.drain();

    const job = await t.container.repositories.jobs.findById(id);
    expect(job?.status, job?.error ?? '').toBe('succeeded');
    const graph = comfy.prompts.at(-1)!.graph;
    const nodes = Object.values(graph);
    const loaders = nodes.filter((n) => n.class_type === 'LoraLoader');
    expect(loaders.map((n) => [n.inputs.lora_name, n.inputs.strength_model, n.inputs.strength_clip])).toEqual([
      ['styles/inkwash.safetensors', 0.7, 0.4],
      ['detail.safetensors', 0.5, 0.5],
    ]);
    const sampler = nodes.find((n) => n.class_type === 'KSampler')!;
    expect(sampler.inputs).toMatchObject({ seed: 99, steps: 5, sampler_name: 'dpmpp_2m', scheduler: 'karras' });
    // The sampler reads the last loader's model; the text encoders its CLIP. The LoRA tokens leave the prompt text.
    expect(sampler.inputs.model).toEqual([Object.keys(graph).find((k) => graph[k] === loaders[1]), 0]);
    expect(nodes.filter((n) => n.class_type === 'CLIPTextEncode').map((n) => n.inputs.text)).toEqual(['a castle', 'blurry']);

    const dir = path.join(t.config.outputDir, id);
    const png = fs.readFileSync(path.join(dir, '1.png'));
    expect(readTextChunks(png).parameters).toMatch(/^a castle, <lora:Ink Wash:0\.7:0\.4> <lora:detail:0\.5>\nNegative prompt: blurry\nSteps: 5, Sampler: DPM\+\+ 2M Karras, CFG scale: 7, Seed: 99, Size: 48x32, Model: sdxl-base\.safetensors/);
    const result = (await t.app.inject(`${API}/generation/results/${id}`)).json();
    expect(result).toMatchObject({ backend: 'comfyui', width: 48, height: 32, seed: 99, status: 'completed' });
    expect(result.images).toHaveLength(2);
    expect(result.adapters.map((a: { name: string }) => a.name)).toEqual(['Ink Wash', 'detail']);
  });

  it('fails at once, with the reason, when ComfyUI does not have a LoRA', async () => {
    const res = await t.app.inject({ method: 'POST', url: `${API}/generation/queue-generation?backend=comfyui`, payload: { prompt: 'x <lora:unknown-to-comfy:1>', steps: 2, width: 16, height: 16 } });
    const id = res.json().delivery_id;
    await t.container.queue.drain();
    expect(await t.container.repositories.jobs.findById(id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: 'ComfyUI does not have the LoRA "unknown-to-comfy" in its loras folder',
    });
  });

  it('interrupts ComfyUI when the job is cancelled', async () => {
    comfy.hold(1);
    const res = await t.app.inject({ method: 'POST', url: `${API}/generation/queue-generation?backend=comfyui`, payload: { prompt: 'slow', steps: 40, width: 16, height: 16 } });
    const id = res.json().delivery_id;
    await comfy.waitForStep(1);
    const before = comfy.interrupts;
    expect((await t.app.inject({ method: 'POST', url: `${API}/generation/jobs/${id}/cancel` })).statusCode).toBe(200);
    await until('the interrupt', () => comfy.interrupts > before);
    comfy.release();
    await t.container.queue.drain();
    expect((await t.container.repositories.jobs.findById(id))?.status).toBe('cancelled');
    expect(fs.existsSync(path.join(t.config.outputDir, id, '0.png'))).toBe(false);
  });
});
