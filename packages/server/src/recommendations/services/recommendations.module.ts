import type { Logger } from 'pino';
import type { Clock } from '../../lib/clock.ts';
import type { AdapterRepository } from '../../library/repositories/adapter.repository.ts';
import type { AppDatabase } from '../../db/database.ts';
import { FeatureRepository } from '../repositories/feature.repository.ts';
import { RecommendationRepository } from '../repositories/recommendation.repository.ts';
import { RecommendationAdminService } from './recommendation-admin.service.ts';
import { RecommendationFeedbackService } from './recommendation-feedback.service.ts';
import { RecommendationIndex } from './recommendation-index.ts';
import { RecommendationService } from './recommendation.service.ts';

export interface RecommendationDeps {
  database: AppDatabase;
  repositories: { adapters: AdapterRepository };
  clock: Clock;
  logger: Logger;
  /** How long the generation history's change stamp is trusted (tests: 0). */
  usageCheckMs?: number;
}

export interface RecommendationServices {
  recommendations: RecommendationService;
  recommendationFeedback: RecommendationFeedbackService;
  recommendationAdmin: RecommendationAdminService;
  /** Call with the ids of adapters added, changed or deleted, after the change is committed. */
  recommendationIndex: RecommendationIndex;
}

/** Recommendations: similar LoRAs, LoRAs for a prompt, by trigger; features kept fresh on every adapter change. */
export function createRecommendations(deps: RecommendationDeps): RecommendationServices {
  const logger = deps.logger.child({ component: 'recommendations' });
  const features = new FeatureRepository(deps.database.db, deps.database.dialect.name);
  const repo = new RecommendationRepository(deps.database.db);
  const index = new RecommendationIndex(features, deps.clock, logger);
  const recommendations = new RecommendationService(index, repo, deps.repositories.adapters, deps.clock, deps.usageCheckMs);
  return {
    recommendations,
    recommendationFeedback: new RecommendationFeedbackService(repo, deps.clock),
    recommendationAdmin: new RecommendationAdminService(index, features, repo, recommendations.metrics, deps.clock),
    recommendationIndex: index,
  };
}
