import { randomUUID } from 'node:crypto';
import type {
  Adapter,
  PromptRecommendationBody,
  RecommendationItem,
  RecommendationResponse,
  SimilarQuery,
  TriggerQuery,
} from '@lora-manager/contract';
import { NotFoundError } from '../../errors.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Scored, Weights } from '../../lib/recommend/engine.ts';
import { familyOf } from '../../lib/recommend/family.ts';
import { contextKey, Signals } from '../../lib/recommend/signals.ts';
import { parseLoraTokens, stripLoraTokens } from '../../lib/prompt-syntax.ts';
import type { AdapterRepository } from '../../library/repositories/adapter.repository.ts';
import type { RecommendationRepository } from '../repositories/recommendation.repository.ts';
import type { RecommendationIndex } from './recommendation-index.ts';

export const SIMILAR_DEFAULTS: Weights = { semantic: 0.6, artistic: 0.3, technical: 0.1 };
export const PROMPT_DEFAULTS: Weights = { semantic: 0.5, artistic: 0.35, technical: 0.15 };

export interface RecommendationMetrics {
  calls: number;
  totalMs: number;
}

/** Similar LoRAs, LoRAs for a prompt and by trigger, ranked by content and by what was learned from use. */
export class RecommendationService {
  private signalsCache: { version: number; usageStamp: string; checkedAt: number; signals: Signals } | null = null;
  /** Process-wide, unlike the original's per-request tracker that always reported 0. */
  readonly metrics: RecommendationMetrics = { calls: 0, totalMs: 0 };

  constructor(
    private readonly index: RecommendationIndex,
    private readonly repo: RecommendationRepository,
    private readonly adapters: AdapterRepository,
    private readonly clock: Clock,
    /** How long the generation history's change stamp is trusted before it is read again. */
    private readonly usageCheckMs = 5000,
  ) {}

  async similar(loraId: string, query: SimilarQuery): Promise<RecommendationResponse> {
    const started = performance.now();
    const engine = await this.index.engine();
    if (!engine.has(loraId)) {
      if (!(await this.repo.adapterExists(loraId))) throw new NotFoundError('adapter_not_found', `LoRA ${loraId} not found`);
    }
    const weights = {
      semantic: query.weight_semantic ?? SIMILAR_DEFAULTS.semantic,
      artistic: query.weight_artistic ?? SIMILAR_DEFAULTS.artistic,
      technical: query.weight_technical ?? SIMILAR_DEFAULTS.technical,
    };
    const threshold = query.similarity_threshold ?? 0.1;
    const diversify = query.diversify_results ?? true;
    const scored = engine.similar(loraId, weights, {
      limit: query.limit ?? 10,
      threshold,
      diversify,
      allowIncompatible: query.include_incompatible ?? false,
      signals: await this.signals(),
    });
    return this.respond(started, scored, true, {
      type: 'similar',
      context: contextKey('similar', loraId),
      target: loraId,
      config: { similarity_threshold: threshold, diversify_results: diversify, weights, include_incompatible: query.include_incompatible ?? false },
    });
  }

  async forPrompt(body: PromptRecommendationBody): Promise<RecommendationResponse> {
    const started = performance.now();
    const engine = await this.index.engine();
    // LoRAs the prompt already loads count as active, by id or by the name in their `<lora:name:w>` token.
    const refs = [...(body.active_loras ?? []), ...parseLoraTokens(body.prompt).map((t) => t.name)];
    const active = [...new Set(refs.flatMap((r) => (engine.has(r) ? [r] : engine.byName(r))))];
    const req = body.technical_requirements ?? {};
    const family = familyOf(typeof req.base_model === 'string' ? req.base_model : typeof req.sd_version === 'string' ? req.sd_version : null);
    const weights = { ...PROMPT_DEFAULTS, ...Object.fromEntries(Object.entries(body.weights ?? {}).filter(([, v]) => v !== undefined)) } as Weights;
    const text = stripLoraTokens(body.prompt);
    const scored = engine.forPrompt(text, weights, {
      limit: body.limit ?? 10,
      active,
      stylePreference: body.style_preference ?? null,
      family,
      allowIncompatible: req.allow_incompatible === true,
      signals: await this.signals(),
    });
    return this.respond(started, scored, body.include_explanations ?? true, {
      type: 'for_prompt',
      context: contextKey('for_prompt', text),
      prompt: body.prompt,
      active,
      config: { weights, active_loras: active, style_preference: body.style_preference ?? null, base_family: family },
    });
  }

  async byTrigger(query: TriggerQuery): Promise<RecommendationResponse> {
    const started = performance.now();
    const engine = await this.index.engine();
    const scored = engine.byTrigger(query.trigger_query, { limit: query.limit ?? 10, signals: await this.signals() });
    return this.respond(started, scored, true, {
      type: 'by_trigger',
      context: contextKey('by_trigger', query.trigger_query),
      trigger: query.trigger_query,
      config: { trigger_query: query.trigger_query },
    });
  }

  /** Learned signals, read again when feedback or preferences changed (any process) or the history did. */
  async signals(): Promise<Signals> {
    const version = await this.repo.signalsVersion();
    const now = Date.now();
    const cached = this.signalsCache;
    if (cached && cached.version === version && now - cached.checkedAt < this.usageCheckMs) return cached.signals;
    const usageStamp = await this.repo.usageStamp();
    if (cached && cached.version === version && cached.usageStamp === usageStamp) {
      cached.checkedAt = now;
      return cached.signals;
    }
    const [usage, feedback, preferences] = await Promise.all([this.repo.usage(), this.repo.feedbackForSignals(), this.repo.preferencesForSignals()]);
    const signals = new Signals(usage, feedback, preferences);
    this.signalsCache = { version, usageStamp, checkedAt: now, signals };
    return signals;
  }

  private async respond(
    started: number,
    scored: Scored[],
    explain: boolean,
    session: { type: string; context: string; target?: string; prompt?: string; trigger?: string; active?: string[]; config: Record<string, unknown> },
  ): Promise<RecommendationResponse> {
    const adapters = new Map((await this.adapters.findByIds(scored.map((s) => s.id))).map((a) => [a.id, a]));
    const items = scored.filter((s) => adapters.has(s.id)).map((s) => toItem(s, adapters.get(s.id)!, explain));
    const now = this.clock.now().toISOString();
    const id = randomUUID();
    await this.repo.insertSession({
      id,
      recommendation_type: session.type,
      context_key: session.context,
      target_lora_id: session.target ?? null,
      context_prompt: session.prompt ?? null,
      trigger_query: session.trigger ?? null,
      active_loras: JSON.stringify(session.active ?? []),
      recommendations: JSON.stringify(items.map((i) => ({ lora_id: i.lora_id, final_score: i.final_score }))),
      generated_at: now,
    });
    const ms = performance.now() - started;
    this.metrics.calls++;
    this.metrics.totalMs += ms;
    return {
      session_id: id,
      ...(session.target !== undefined ? { target_lora_id: session.target } : {}),
      ...(session.prompt !== undefined ? { prompt: session.prompt } : {}),
      ...(session.trigger !== undefined ? { trigger_query: session.trigger } : {}),
      recommendations: items,
      total_candidates: items.length,
      processing_time_ms: Math.round(ms * 100) / 100,
      recommendation_config: { device: 'cpu', gpu_enabled: false, engine: 'sparse-tfidf', ...session.config },
      generated_at: now,
    };
  }
}

function toItem(s: Scored, a: Adapter, explain: boolean): RecommendationItem {
  const reasons = explain ? s.reasons : [];
  return {
    lora_id: a.id,
    lora_name: a.name,
    lora_description: a.description,
    similarity_score: s.similarity,
    final_score: s.final,
    explanation: explain ? reasons.join(' | ') || 'General similarity' : '',
    reasons,
    semantic_similarity: round(s.semantic),
    artistic_similarity: round(s.artistic),
    technical_similarity: round(s.technical),
    quality_boost: s.quality,
    popularity_boost: 0,
    recency_boost: 0,
    learned_boost: s.learned,
    metadata: {
      tags: a.tags.slice(0, 5),
      author: a.author_username,
      sd_version: a.sd_version,
      base_model: a.base_model,
      network_type: a.network_type,
      nsfw_level: a.nsfw_level,
      triggers: [...a.triggers, ...a.trained_words].slice(0, 5),
      active: a.active,
      weight: a.weight,
      preview_path: a.preview_path,
    },
  };
}

function round(x: number): number {
  return Math.round(x * 10000) / 10000;
}
