import {
  AnalyticsCharts,
  AnalyticsKpis,
  AnalyticsQuery,
  AnalyticsSummary,
  ErrorBreakdownEntry,
  LoraUsageList,
  LoraUsageQuery,
  PerformanceInsight,
} from '@lora-manager/contract';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { AnalyticsService } from '../services/analytics.service.ts';

/** The original's analytics routes (same paths, query and field names) plus per-LoRA usage. */
export const analyticsRoutes: FastifyPluginAsync<{ analytics: AnalyticsService }> = async (app, { analytics }) => {
  const tags = ['analytics'];
  app.get<{ Querystring: AnalyticsQuery }>('/analytics/summary', { schema: { tags, querystring: AnalyticsQuery, response: { 200: AnalyticsSummary } } }, async (req) =>
    analytics.summary(req.query),
  );
  app.get<{ Querystring: AnalyticsQuery }>('/analytics/stats', { schema: { tags, querystring: AnalyticsQuery, response: { 200: AnalyticsKpis } } }, async (req) =>
    analytics.stats(req.query),
  );
  app.get<{ Querystring: AnalyticsQuery }>(
    '/analytics/errors',
    { schema: { tags, querystring: AnalyticsQuery, response: { 200: Type.Array(ErrorBreakdownEntry) } } },
    async (req) => analytics.errors(req.query),
  );
  app.get<{ Querystring: AnalyticsQuery }>('/analytics/timeseries', { schema: { tags, querystring: AnalyticsQuery, response: { 200: AnalyticsCharts } } }, async (req) =>
    analytics.timeseries(req.query),
  );
  app.get<{ Querystring: AnalyticsQuery }>(
    '/analytics/insights',
    { schema: { tags, querystring: AnalyticsQuery, response: { 200: Type.Array(PerformanceInsight) } } },
    async (req) => analytics.insights(req.query),
  );
  app.get<{ Querystring: LoraUsageQuery }>('/analytics/loras', { schema: { tags, querystring: LoraUsageQuery, response: { 200: LoraUsageList } } }, async (req) =>
    analytics.loraUsage(req.query),
  );
};
