import { ActivityItem, DashboardStats, FeaturedLora, SystemStatus } from '@lora-manager/contract';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { DashboardService } from '../services/dashboard.service.ts';
import type { SystemStatusService } from '../services/system-status.service.ts';

/** Dashboard panels and the system status. Unlike the original these need the API key when one is set. */
export const dashboardRoutes: FastifyPluginAsync<{ dashboard: DashboardService; system: SystemStatusService }> = async (
  app,
  { dashboard, system },
) => {
  app.get('/dashboard/stats', { schema: { tags: ['dashboard'], response: { 200: DashboardStats } } }, async () => dashboard.stats());
  app.get('/dashboard/featured-loras', { schema: { tags: ['dashboard'], response: { 200: Type.Array(FeaturedLora) } } }, async () =>
    dashboard.featured(),
  );
  app.get('/dashboard/activity-feed', { schema: { tags: ['dashboard'], response: { 200: Type.Array(ActivityItem) } } }, async () =>
    dashboard.activity(),
  );
  app.get('/system/status', { schema: { tags: ['system'], response: { 200: SystemStatus } } }, async () => system.status());
};
