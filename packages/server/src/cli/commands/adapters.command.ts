import type { AdapterListQuery } from '@lora-manager/contract';
import { type Command, InvalidArgumentError } from 'commander';
import { withContainer } from '../cli-support.ts';

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('must be a whole number');
  return n;
}

function tagMode(value: string): 'any' | 'all' {
  if (value !== 'any' && value !== 'all') throw new InvalidArgumentError('must be "any" or "all"');
  return value;
}

export function registerAdapterCommands(program: Command): void {
  const adapters = program.command('adapters').description('the adapter catalogue');
  adapters
    .command('list')
    .description('list adapters with the same filters as GET /api/v1/adapters')
    .option('-s, --search <text>', 'match name, description, tags, trained words and triggers')
    .option('-t, --tags <list>', 'comma-separated tags')
    .option('--tag-mode <mode>', 'any | all', tagMode)
    .option('--active', 'only active adapters')
    .option('--favorites', 'only favourites')
    .option('--sort <key>', 'name, created_at, updated_at, file_size, rating, …')
    .option('--order <dir>', 'asc | desc')
    .option('--page <n>', 'page number', integer)
    .option('--per-page <n>', 'page size (max 200)', integer)
    .option('--json', 'print the API reply as JSON')
    .action(async (opts) => {
      const query: AdapterListQuery = {
        search: opts.search,
        tags: opts.tags,
        tag_mode: opts.tagMode,
        active_only: opts.active,
        favorites_only: opts.favorites,
        sort: opts.sort,
        order: opts.order === 'asc' || opts.order === 'desc' ? opts.order : undefined,
        page: opts.page,
        per_page: opts.perPage,
      };
      await withContainer(async ({ services }) => {
        const page = await services.adapters.list(query);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(page, null, 2)}\n`);
          return;
        }
        for (const a of page.items) {
          const flags = `${a.active ? '●' : ' '}${a.favorite ? '★' : ' '}`;
          process.stdout.write(`${flags} ${a.id}  ${a.name}${a.version ? ` (${a.version})` : ''}  w=${a.weight}  [${a.tags.join(', ')}]\n`);
        }
        process.stdout.write(
          page.filtered === 0
            ? `no adapters match (${page.total} in the catalogue)\n`
            : `page ${page.page}/${page.pages}, ${page.filtered} matching of ${page.total}\n`,
        );
      });
    });
}
