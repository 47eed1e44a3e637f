import fs from 'node:fs';
import multipart from '@fastify/multipart';
import {
  IdParams,
  RecipeApplyBody,
  RecipeApplyResult,
  RecipeCivitaiLookup,
  RecipeCreate,
  RecipeDuplicateGroups,
  RecipeExportQuery,
  RecipeImportResult,
  RecipeListQuery,
  RecipeMergeBody,
  RecipePage,
  RecipeParseResult,
  RecipePatch,
  RecipeRematchResult,
} from '@lora-manager/contract';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { RecipeCivitaiService } from '../services/recipe-civitai.service.ts';
import type { RecipeMatcher } from '../services/recipe-matcher.ts';
import type { RecipeUseService } from '../services/recipe-use.service.ts';
import type { RecipeService } from '../services/recipe.service.ts';
import { emptyBodyIsDefaults } from '../../http/optional-body.ts';
import { RECIPE_UPLOAD_LIMITS, receiveRecipeInputs } from './recipe-inputs.ts';

const tags = ['recipes'];
const RecipeRef = Type.Ref('Recipe');
const uploadDoc = {
  consumes: ['multipart/form-data', 'application/json'],
  description:
    'multipart/form-data: one or more PNG / JPEG / WebP images in "files" parts, optional "text", "name" and "tags" (comma list) fields; ' +
    'or JSON {"text": "<A1111 parameters, CivitAI image metadata JSON or ComfyUI prompt/workflow JSON>", "name"?, "tags"?}.',
};

export interface RecipeRouteDeps {
  recipes: RecipeService;
  recipeUse: RecipeUseService;
  matcher: RecipeMatcher;
  civitai: RecipeCivitaiService;
}

/** `/recipes/*`: CRUD, import from images or text (and a dry-run parse), apply to Compose / Generate, export, duplicates. */
export const recipeRoutes: FastifyPluginAsync<RecipeRouteDeps> = async (fastify, { recipes, recipeUse, matcher, civitai }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  await app.register(multipart, { limits: { fileSize: RECIPE_UPLOAD_LIMITS.fileBytes, files: RECIPE_UPLOAD_LIMITS.files } });

  app.get('/recipes', { schema: { tags, querystring: RecipeListQuery, response: { 200: RecipePage } } }, async (req) => recipes.list(req.query));

  app.post('/recipes', { schema: { tags, body: RecipeCreate, response: { 201: RecipeRef } } }, async (req, reply) => reply.code(201).send(await recipes.create(req.body)));

  app.post('/recipes/parse', { schema: { tags, ...uploadDoc, response: { 200: RecipeParseResult } } }, async (req) => {
    const received = await receiveRecipeInputs(req);
    return recipes.parse(received.inputs);
  });

  app.post('/recipes/import', { schema: { tags, ...uploadDoc, response: { 201: RecipeImportResult } } }, async (req, reply) => {
    const received = await receiveRecipeInputs(req);
    return reply.code(201).send(await recipes.import(received.inputs, { name: received.name, tags: received.tags }));
  });

  app.get('/recipes/duplicates', { schema: { tags, response: { 200: RecipeDuplicateGroups } } }, async () => recipeUse.duplicates());

  app.post('/recipes/merge', { schema: { tags, body: RecipeMergeBody, response: { 200: RecipeRef } } }, async (req) => recipeUse.merge(req.body));

  app.post('/recipes/rematch', { schema: { tags, response: { 200: RecipeRematchResult } } }, async () => matcher.rematch());

  app.post('/recipes/civitai/lookup', { preValidation: emptyBodyIsDefaults, schema: { tags, body: RecipeCivitaiLookup, response: { 202: Type.Object({ job: Type.Ref('Job') }) } } }, async (req, reply) =>
    reply.code(202).send({ job: await civitai.start(req.body.recipe_ids ?? null) }),
  );

  app.get('/recipes/:id', { schema: { tags, params: IdParams, response: { 200: RecipeRef } } }, async (req) => recipes.get(req.params.id));

  app.patch('/recipes/:id', { schema: { tags, params: IdParams, body: RecipePatch, response: { 200: RecipeRef } } }, async (req) => recipes.patch(req.params.id, req.body));

  app.delete('/recipes/:id', { schema: { tags, params: IdParams, response: { 204: Type.Null() } } }, async (req, reply) => {
    await recipes.delete(req.params.id);
    return reply.code(204).send(null);
  });

  app.get('/recipes/:id/preview', { schema: { tags, params: IdParams } }, async (req, reply) => {
    const file = await recipes.preview(req.params.id);
    return reply
      .type(file.contentType)
      .header('content-length', file.size)
      .header('cache-control', 'private, max-age=3600')
      .header('x-content-type-options', 'nosniff')
      .send(fs.createReadStream(file.path));
  });

  app.get('/recipes/:id/export', { schema: { tags, params: IdParams, querystring: RecipeExportQuery } }, async (req, reply) => {
    const file = await recipeUse.export(req.params.id, req.query.format ?? 'json');
    return reply
      .type(file.contentType)
      .header('content-disposition', `attachment; filename="${file.filename}"`)
      .header('x-content-type-options', 'nosniff')
      .send(file.data);
  });

  app.post('/recipes/:id/apply', { schema: { tags, params: IdParams, body: RecipeApplyBody, response: { 200: RecipeApplyResult } } }, async (req) =>
    recipeUse.apply(req.params.id, req.body),
  );
};
