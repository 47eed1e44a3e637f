import { DeliveryCreate, DeliveryCreated, DeliveryEnvelope, IdParams } from '@lora-manager/contract';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { DeliveryService } from '../services/delivery.service.ts';

/** POST /deliveries, GET /deliveries/{id}. */
export const deliveriesRoutes: FastifyPluginAsync<{ deliveries: DeliveryService }> = async (fastify, { deliveries }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post('/deliveries', { schema: { tags: ['deliveries'], body: DeliveryCreate, response: { 201: DeliveryCreated } } }, async (req, reply) =>
    reply.code(201).send(await deliveries.create(req.body)),
  );

  app.get('/deliveries/:id', { schema: { tags: ['deliveries'], params: IdParams, response: { 200: DeliveryEnvelope } } }, async (req) => ({
    delivery: await deliveries.get(req.params.id),
  }));
};
