import {
  EmbeddingBatchResult,
  EmbeddingComputeBody,
  EmbeddingComputeResult,
  EmbeddingStatus,
  FeedbackBody,
  FeedbackRecord,
  ForceQuery,
  IdParams,
  IndexRebuildResult,
  LoraIdParams,
  PreferenceBody,
  PreferenceRecord,
  PromptRecommendationBody,
  RecommendationHealth,
  RecommendationResponse,
  RecommendationStats,
  SimilarQuery,
  TriggerQuery,
} from '@lora-manager/contract';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { RecommendationAdminService } from '../services/recommendation-admin.service.ts';
import type { RecommendationFeedbackService } from '../services/recommendation-feedback.service.ts';
import type { RecommendationService } from '../services/recommendation.service.ts';

const tags = ['recommendations'];

export interface RecommendationRouteOptions {
  recommendations: RecommendationService;
  feedback: RecommendationFeedbackService;
  admin: RecommendationAdminService;
}

/** `/recommendations/*`: the original's §2.6 routes, plus GET/DELETE for preferences and GET for feedback. */
export const recommendationRoutes: FastifyPluginAsync<RecommendationRouteOptions> = async (fastify, { recommendations, feedback, admin }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const prefix = '/recommendations';

  app.get(`${prefix}/similar/:lora_id`, { schema: { tags, params: LoraIdParams, querystring: SimilarQuery, response: { 200: RecommendationResponse } } }, async (req) =>
    recommendations.similar(req.params.lora_id, req.query),
  );

  app.post(`${prefix}/for-prompt`, { schema: { tags, body: PromptRecommendationBody, response: { 200: RecommendationResponse } } }, async (req) =>
    recommendations.forPrompt(req.body),
  );

  app.get(`${prefix}/by-trigger`, { schema: { tags, querystring: TriggerQuery, response: { 200: RecommendationResponse } } }, async (req) =>
    recommendations.byTrigger(req.query),
  );

  app.get(`${prefix}/stats`, { schema: { tags, response: { 200: RecommendationStats } } }, async () => admin.stats());

  app.get(`${prefix}/health`, { schema: { tags, response: { 200: RecommendationHealth } } }, async () => admin.health());

  app.post(`${prefix}/embeddings/compute`, { schema: { tags, body: Type.Optional(EmbeddingComputeBody), response: { 200: EmbeddingBatchResult } } }, async (req) =>
    admin.compute(req.body ?? {}),
  );

  app.get(`${prefix}/embeddings/:lora_id`, { schema: { tags, params: LoraIdParams, response: { 200: EmbeddingStatus } } }, async (req) => admin.status(req.params.lora_id));

  app.post(`${prefix}/embeddings/:lora_id/compute`, { schema: { tags, params: LoraIdParams, querystring: ForceQuery, response: { 200: EmbeddingComputeResult } } }, async (req) =>
    admin.computeOne(req.params.lora_id, req.query.force_recompute ?? req.query.force ?? false),
  );

  app.post(`${prefix}/index/rebuild`, { schema: { tags, querystring: ForceQuery, response: { 200: IndexRebuildResult } } }, async (req) =>
    admin.rebuild(req.query.force ?? req.query.force_recompute ?? false),
  );

  app.post(`${prefix}/feedback`, { schema: { tags, body: FeedbackBody, response: { 200: FeedbackRecord } } }, async (req) => feedback.feedback(req.body));

  app.get(
    `${prefix}/feedback`,
    {
      schema: {
        tags,
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })), session_id: Type.Optional(Type.String({ maxLength: 200 })) }),
        response: { 200: Type.Array(FeedbackRecord) },
      },
    },
    async (req) => feedback.listFeedback(req.query.limit ?? 100, req.query.session_id),
  );

  app.post(`${prefix}/preferences`, { schema: { tags, body: PreferenceBody, response: { 200: PreferenceRecord } } }, async (req) => feedback.setPreference(req.body));

  app.get(`${prefix}/preferences`, { schema: { tags, response: { 200: Type.Array(PreferenceRecord) } } }, async () => feedback.listPreferences());

  app.delete(`${prefix}/preferences/:id`, { schema: { tags, params: IdParams } }, async (req, reply) => {
    await feedback.deletePreference(req.params.id);
    return reply.code(204).send();
  });
};
