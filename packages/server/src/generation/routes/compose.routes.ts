import { ComposeRequest, ComposeResponse } from '@lora-manager/contract';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { DeliveryService } from '../services/delivery.service.ts';

/** POST /compose (the delivery it may ask for is scheduled by the delivery service). */
export const composeRoutes: FastifyPluginAsync<{ deliveries: DeliveryService }> = async (fastify, { deliveries }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post('/compose', { schema: { tags: ['compose'], body: ComposeRequest, response: { 200: ComposeResponse } } }, async (req) =>
    deliveries.compose(req.body ?? {}),
  );
};
