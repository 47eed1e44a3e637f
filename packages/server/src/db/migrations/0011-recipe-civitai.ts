import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.ts';

/**
 * What CivitAI says of a recipe LoRA the library lacks (issue 16): the model's name, so a missing LoRA reads as
 * "Ink Wash Painting v2.0" with a link to its page rather than a bare hash, and when it was asked, so a hash CivitAI
 * does not know is not sent again.
 */
export function up0011(_d: DialectHelpers) {
  return async (db: Kysely<any>): Promise<void> => {
    await db.schema.alterTable('recipe_lora').addColumn('civitai_name', 'text').execute();
    await db.schema.alterTable('recipe_lora').addColumn('civitai_checked_at', 'text').execute();
  };
}
