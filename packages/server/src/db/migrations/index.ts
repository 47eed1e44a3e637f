import type { Migration } from 'kysely';
import type { DialectHelpers } from '../dialect.ts';
import { up0001 } from './0001-adapters.ts';
import { up0002 } from './0002-jobs.ts';
import { up0003 } from './0003-library.ts';
import { up0004 } from './0004-generation.ts';
import { up0005 } from './0005-archive.ts';
import { up0006 } from './0006-user-field-mask.ts';
import { up0007 } from './0007-recommendations.ts';
import { up0008 } from './0008-analytics.ts';
import { up0009 } from './0009-recipes.ts';
import { up0010 } from './0010-job-outbox.ts';
import { up0011 } from './0011-recipe-civitai.ts';

/**
 * The one migration chain, run at start-up on every dialect. Append new migrations; never edit one that shipped.
 * Each is a function of the dialect helpers so column types can differ where they must.
 */
export function migrations(d: DialectHelpers): Record<string, Migration> {
  return {
    '0001-adapters': { up: up0001(d) },
    '0002-jobs': { up: up0002(d) },
    '0003-library': { up: up0003(d) },
    '0004-generation': { up: up0004(d) },
    '0005-archive': { up: up0005(d) },
    '0006-user-field-mask': { up: up0006(d) },
    '0007-recommendations': { up: up0007(d) },
    '0008-analytics': { up: up0008(d) },
    '0009-recipes': { up: up0009(d) },
    '0010-job-outbox': { up: up0010(d) },
    '0011-recipe-civitai': { up: up0011(d) },
  };
}
