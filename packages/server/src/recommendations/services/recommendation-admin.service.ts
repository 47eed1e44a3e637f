import type { EmbeddingBatchResult, EmbeddingComputeBody, EmbeddingStatus, IndexRebuildResult, RecommendationHealth, RecommendationStats } from '@lora-manager/contract';
import { NotFoundError } from '../../errors.ts';
import type { Clock } from '../../lib/clock.ts';
import type { FeatureRepository } from '../repositories/feature.repository.ts';
import type { RecommendationRepository } from '../repositories/recommendation.repository.ts';
import type { RecommendationIndex } from './recommendation-index.ts';
import type { RecommendationMetrics } from './recommendation.service.ts';

/** Stats, health, feature ("embedding") computation and index rebuilds: none is ever needed, all still answer. */
export class RecommendationAdminService {
  constructor(
    private readonly index: RecommendationIndex,
    private readonly features: FeatureRepository,
    private readonly repo: RecommendationRepository,
    private readonly metrics: RecommendationMetrics,
    private readonly clock: Clock,
  ) {}

  async stats(): Promise<RecommendationStats> {
    await this.index.engine();
    const [c, r] = await Promise.all([this.features.counts(), this.repo.counts()]);
    return {
      total_loras: c.adapters,
      loras_with_embeddings: c.withFeatures,
      embedding_coverage: c.adapters === 0 ? 0 : Math.min(1, c.withFeatures / c.adapters),
      avg_recommendation_time_ms: this.metrics.calls === 0 ? 0 : Math.round((this.metrics.totalMs / this.metrics.calls) * 100) / 100,
      cache_hit_rate: this.index.reads === 0 ? 0 : Math.round((this.index.hits / this.index.reads) * 1000) / 1000,
      total_sessions: r.sessions,
      user_preferences_count: r.preferences,
      feedback_count: r.feedback,
      model_memory_usage_gb: Math.round((this.index.vectorBytes / 1e9) * 1e6) / 1e6,
      last_index_update: c.lastComputed ?? this.clock.now().toISOString(),
      indexed_in_memory: this.index.size,
    };
  }

  async health(): Promise<RecommendationHealth> {
    const timestamp = this.clock.now().toISOString();
    try {
      const s = await this.stats();
      const coverageOk = s.total_loras === 0 || s.embedding_coverage > 0.5;
      const performanceOk = s.avg_recommendation_time_ms < 5000;
      const memoryOk = s.model_memory_usage_gb < 7.5;
      return {
        status: coverageOk && performanceOk && memoryOk ? 'healthy' : 'degraded',
        checks: { models_loaded: this.index.loaded, embeddings_coverage: coverageOk, performance_acceptable: performanceOk, memory_usage_ok: memoryOk },
        metrics: {
          embedding_coverage: s.embedding_coverage,
          avg_response_time_ms: s.avg_recommendation_time_ms,
          memory_usage_gb: s.model_memory_usage_gb,
          total_loras: s.total_loras,
          loras_with_embeddings: s.loras_with_embeddings,
        },
        timestamp,
      };
    } catch (error) {
      return { status: 'unhealthy', checks: {}, metrics: { error: error instanceof Error ? error.message : String(error) }, timestamp };
    }
  }

  async status(adapterId: string): Promise<EmbeddingStatus> {
    const [row, adapter] = await Promise.all([this.features.get(adapterId), this.features.adapterExists(adapterId)]);
    const has = row !== undefined && row.deleted === 0 && adapter !== undefined;
    return {
      adapter_id: adapterId,
      has_semantic_embedding: has,
      has_artistic_embedding: has,
      has_technical_embedding: has,
      has_extracted_features: has,
      last_computed: has ? row.computed_at : null,
      needs_recomputation: !has || row.source_updated_at !== adapter.updatedAt,
    };
  }

  async computeOne(adapterId: string, force: boolean): Promise<{ status: string; message: string }> {
    const s = await this.status(adapterId);
    if (!(await this.features.adapterExists(adapterId))) throw new NotFoundError('adapter_not_found', `Adapter ${adapterId} not found`);
    if (force || s.needs_recomputation) await this.index.refresh([adapterId]);
    return { status: 'success', message: `Embeddings computed for ${adapterId}` };
  }

  async compute(body: EmbeddingComputeBody): Promise<EmbeddingBatchResult> {
    const started = performance.now();
    const all = body.compute_all || !body.adapter_ids || body.adapter_ids.length === 0;
    let processed = 0;
    let skipped = 0;
    const errors: Array<{ adapter_id: string; error: string }> = [];
    if (all) {
      processed = await this.index.catchUp(body.force_recompute ?? false);
      skipped = Math.max(0, (await this.features.counts()).adapters - processed);
    } else {
      const wanted: string[] = [];
      for (const id of new Set(body.adapter_ids)) {
        const s = await this.status(id);
        if (!(await this.features.adapterExists(id))) errors.push({ adapter_id: id, error: 'Adapter not found' });
        else if (body.force_recompute || s.needs_recomputation) wanted.push(id);
        else skipped++;
      }
      processed = await this.index.refresh(wanted);
    }
    return {
      processed_count: processed,
      skipped_count: skipped,
      error_count: errors.length,
      processing_time_seconds: Math.round(performance.now() - started) / 1000,
      errors,
      completed_at: this.clock.now().toISOString(),
    };
  }

  /** Never needed (features follow every change); kept for the original's clients and for a forced recompute. */
  async rebuild(force: boolean): Promise<IndexRebuildResult> {
    const started = performance.now();
    const wasLoaded = this.index.loaded;
    const recomputed = await this.index.catchUp(force);
    if (force) await this.index.reset();
    await this.index.engine();
    const size = this.index.size;
    const skipped = !force && wasLoaded && recomputed === 0;
    return {
      status: size === 0 ? 'empty' : skipped ? 'skipped' : 'rebuilt',
      indexed_items: size,
      index_path: null,
      index_size_bytes: this.index.vectorBytes,
      processing_time_seconds: Math.round(performance.now() - started) / 1000,
      rebuilt_at: this.clock.now().toISOString(),
      skipped,
      skipped_reason: skipped ? 'index_current' : null,
    };
  }
}
