import { randomUUID } from 'node:crypto';
import { GenerationParams, type ComposeRequest, type ComposeResponse, type DeliveryCreate, type DeliveryRecord } from '@lora-manager/contract';
import { Ajv } from 'ajv';
import type { BackendRegistry } from '../backends/backend-registry.ts';
import type { DeliveryConfig } from '../../config.ts';
import { AppError, NotFoundError } from '../../errors.ts';
import { JOB_KINDS } from '../../jobs/job-catalogue.ts';
import type { JobQueue } from '../../jobs/job-queue.ts';
import type { Clock } from '../../lib/clock.ts';
import { toIso } from '../../lib/time.ts';
import type { DeliveryRepository } from '../repositories/delivery.repository.ts';
import type { ComposeService, Composition } from './compose.service.ts';
import { toDeliveryRecord, type GenerationService, type ReturnFormat, type RunMode } from './generation.service.ts';

const checkGenerationParams = new Ajv({ allErrors: true, strict: false }).compile(GenerationParams);

class InvalidGenerationParamsError extends AppError {
  constructor(detail: string) {
    super(422, 'validation_failed', 'The request is not valid', detail);
  }
}

/** What DeliveryService needs; one object, so call sites name each part. */
export interface DeliveryServiceOptions {
  deliveries: DeliveryRepository;
  queue: JobQueue;
  registry: BackendRegistry;
  generation: GenerationService;
  composer: ComposeService;
  config: DeliveryConfig;
  clock: Clock;
}

/**
 * Deliveries: a prompt sent somewhere by the queue. `http` and `cli` run as delivery jobs; a mode (or
 * `params.backend`) naming a generation backend becomes a generation job, as in the original runner.
 */
export class DeliveryService {
  private readonly deliveries: DeliveryRepository;
  private readonly queue: JobQueue;
  private readonly registry: BackendRegistry;
  private readonly generation: GenerationService;
  private readonly composer: ComposeService;
  private readonly config: DeliveryConfig;
  private readonly clock: Clock;

  constructor(options: DeliveryServiceOptions) {
    this.deliveries = options.deliveries;
    this.queue = options.queue;
    this.registry = options.registry;
    this.generation = options.generation;
    this.composer = options.composer;
    this.config = options.config;
    this.clock = options.clock;
  }

  /** `POST /compose`: the composed prompt, and the delivery or generation it asked for, if any. */
  async compose(request: ComposeRequest): Promise<ComposeResponse> {
    const composition = await this.composer.compose(request);
    const delivery = request.delivery ? await this.fromCompose(request.delivery, composition) : null;
    return {
      prompt: composition.prompt,
      tokens: composition.tokens,
      warnings: composition.warnings,
      delivery,
      syntax: composition.syntax,
      trigger_words: composition.trigger_words,
      adapters: composition.adapters.map(({ id, name, token, weight, te_weight, unet_weight, base_model }) => ({ id, name, token, weight, te_weight, unet_weight, base_model })),
    };
  }

  async create(input: DeliveryCreate): Promise<{ delivery_id: string }> {
    const params = input.params ?? {};
    const backend = typeof params.backend === 'string' && this.registry.canonical(params.backend) ? params.backend : input.mode;
    if (this.registry.canonical(backend)) {
      const generationParams = { ...((params.generation_params as Record<string, unknown> | undefined) ?? {}), prompt: input.prompt };
      if (!checkGenerationParams(generationParams)) {
        const errors = (checkGenerationParams.errors ?? []).map((e) => `params/generation_params${e.instancePath}: ${e.message ?? 'is invalid'}`);
        throw new InvalidGenerationParamsError(errors.join('; '));
      }
      const { id } = await this.generation.enqueue(generationParams as GenerationParams, {
        backend,
        mode: params.mode === 'immediate' || params.mode === 'deferred' ? (params.mode as RunMode) : 'deferred',
        saveImages: params.save_images !== false,
        returnFormat: ['base64', 'file_path', 'url'].includes(params.return_format as string) ? (params.return_format as ReturnFormat) : 'url',
      });
      return { delivery_id: id };
    }
    return { delivery_id: await this.enqueueDelivery(input.prompt, input.mode.trim(), params) };
  }

  private async enqueueDelivery(prompt: string, mode: string, params: Record<string, unknown>): Promise<string> {
    const id = randomUUID();
    await this.deliveries.insert({ id, kind: 'delivery', mode, prompt, params: JSON.stringify(params), created_at: toIso(this.clock.now()) }, []);
    try {
      await this.queue.enqueue(JOB_KINDS.delivery, { mode, prompt }, { id, maxAttempts: this.config.maxAttempts });
    } catch (error) {
      await this.deliveries.remove(id);
      throw error;
    }
    return id;
  }

  async get(id: string): Promise<DeliveryRecord> {
    const row = await this.deliveries.findById(id);
    if (!row) throw new NotFoundError('delivery_not_found', 'delivery not found');
    return toDeliveryRecord(row);
  }

  /**
   * Schedule what `/compose` asked for. With `delivery.sdnext` it is a generation on the backend `delivery.mode`
   * names; otherwise the options under `delivery.http` / `delivery.cli` become the job's flat params (the original
   * stored them nested, where its runners never looked).
   */
  async fromCompose(delivery: NonNullable<ComposeRequest['delivery']>, composition: Composition): Promise<{ id: string; status: string }> {
    if (delivery.sdnext) {
      const s = delivery.sdnext;
      const { id } = await this.generation.enqueue(
        { ...s.generation_params, prompt: composition.prompt },
        { backend: delivery.mode, mode: s.mode ?? 'immediate', saveImages: s.save_images ?? true, returnFormat: s.return_format ?? 'base64' },
        composition,
      );
      return { id, status: 'pending' };
    }
    const mode = delivery.mode.trim();
    if (this.registry.canonical(mode)) {
      // A generation backend named without settings: the original runner generated with default params.
      const { id } = await this.generation.enqueue(
        { prompt: composition.prompt },
        { backend: mode, mode: 'deferred', saveImages: true, returnFormat: 'url' },
        composition,
      );
      return { id, status: 'pending' };
    }
    const nested = (delivery as Record<string, unknown>)[mode];
    const params = nested && typeof nested === 'object' && !Array.isArray(nested) ? { ...(nested as Record<string, unknown>) } : {};
    return { id: await this.enqueueDelivery(composition.prompt, mode, params), status: 'pending' };
  }
}
