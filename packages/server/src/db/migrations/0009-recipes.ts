import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.ts';

/**
 * Recipes (issue 16): a named LoRA combination with prompt and parameters. `recipe_lora` keeps each LoRA as the source
 * named it (name, weights, hash) and, separately, the catalogue adapter it matched and how, so a recipe whose LoRA
 * arrives later can be re-matched without re-importing. Generated jobs may point back at the recipe they came from.
 */
export function up0009(d: DialectHelpers) {
  return async (db: Kysely<any>): Promise<void> => {
    await db.schema
      .createTable('recipe')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('name_key', 'text', (c) => c.notNull())
      .addColumn('search_text', 'text', (c) => c.notNull())
      .addColumn('prompt', 'text', (c) => c.notNull())
      .addColumn('negative_prompt', 'text', (c) => c.notNull())
      .addColumn('params', 'text', (c) => c.notNull())
      .addColumn('extra', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('base_model', 'text')
      .addColumn('preview_file', 'text')
      .addColumn('preview_type', 'text')
      .addColumn('favorite', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('rating', 'integer')
      .addColumn('nsfw_level', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('notes', 'text')
      .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('fingerprint', 'text', (c) => c.notNull())
      .addColumn('lora_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('missing_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('source_result_id', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    const indexes: Array<[string, string[]]> = [
      ['ix_recipe_created_at', ['created_at', 'id']],
      ['ix_recipe_name_key', ['name_key', 'id']],
      ['ix_recipe_rating', ['rating', 'created_at']],
      ['ix_recipe_fingerprint', ['fingerprint']],
      ['ix_recipe_favorite', ['favorite', 'created_at']],
      ['ix_recipe_missing_count', ['missing_count', 'created_at']],
      ['ix_recipe_base_model', ['base_model', 'created_at']],
    ];
    for (const [name, columns] of indexes) await db.schema.createIndex(name).on('recipe').columns(columns).execute();

    await db.schema
      .createTable('recipe_lora')
      .addColumn('recipe_id', 'text', (c) => c.notNull().references('recipe.id').onDelete('cascade'))
      .addColumn('position', 'integer', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('weight', d.float, (c) => c.notNull())
      .addColumn('clip_weight', d.float)
      .addColumn('hash', 'text')
      .addColumn('adapter_id', 'text', (c) => c.references('adapter.id').onDelete('set null'))
      .addColumn('match_kind', 'text')
      .addColumn('civitai_model_id', 'integer')
      .addColumn('civitai_version_id', 'integer')
      .addPrimaryKeyConstraint('pk_recipe_lora', ['recipe_id', 'position'])
      .execute();
    await db.schema.createIndex('ix_recipe_lora_adapter').on('recipe_lora').columns(['adapter_id', 'recipe_id']).execute();

    await db.schema
      .createTable('recipe_tag')
      .addColumn('recipe_id', 'text', (c) => c.notNull().references('recipe.id').onDelete('cascade'))
      .addColumn('tag_key', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('pk_recipe_tag', ['recipe_id', 'tag_key'])
      .execute();
    await db.schema.createIndex('ix_recipe_tag_key').on('recipe_tag').columns(['tag_key', 'recipe_id']).execute();

    await db.schema.alterTable('delivery_job').addColumn('recipe_id', 'text').execute();
  };
}
