import fs from 'node:fs/promises';
import path from 'node:path';
import type { Adapter, ComposedAdapter, ComposeRequest } from '@lora-manager/contract';
import { renderLoraToken, type LoraSyntax } from '../../lib/prompt-syntax.ts';
import type { AdapterRepository } from '../../library/repositories/adapter.repository.ts';

export interface ComposedLora extends ComposedAdapter {
  token_name: string;
  file_path: string;
  relative_path: string | null;
  short_hash: string | null;
}

export interface Composition {
  prompt: string;
  tokens: string[];
  warnings: string[];
  syntax: LoraSyntax;
  trigger_words: string[];
  adapters: ComposedLora[];
}

export const NO_ACTIVE_WARNING = 'No active adapters found for composition';

/**
 * Builds a prompt from the active adapters (or the ones a request names): prefix, one `<lora:…>` token per adapter
 * in ordinal-then-name order, optional trigger words and activation text, suffix. Nothing here fails because of the
 * adapters chosen: problems come back as warnings the user can act on.
 */
export class ComposeService {
  constructor(private readonly adapters: AdapterRepository) {}

  async compose(request: ComposeRequest): Promise<Composition> {
    const syntax: LoraSyntax = request.syntax ?? 'original';
    const warnings: string[] = [];
    const chosen = await this.choose(request, warnings);

    const seen = new Map<string, Adapter>();
    const duplicates: string[] = [];
    const composed: ComposedLora[] = [];
    const used: Adapter[] = [];
    for (const { adapter, choice } of chosen) {
      const tokenName = request.token_name === 'file' ? fileStem(adapter.file_path) : adapter.name;
      // One token per name: A1111 would load the same file twice, and the original de-duplicated by name too.
      if (seen.has(tokenName)) {
        if (!duplicates.includes(tokenName)) duplicates.push(tokenName);
        continue;
      }
      seen.set(tokenName, adapter);
      used.push(adapter);
      const preferred = adapter.preferred_weight !== null && adapter.preferred_weight !== 0 ? adapter.preferred_weight : null;
      const weight = choice?.weight ?? (request.use_preferred_weight && preferred !== null ? preferred : adapter.weight);
      const te = choice?.te_weight ?? null;
      const unet = choice?.unet_weight ?? null;
      composed.push({
        id: adapter.id,
        name: adapter.name,
        token_name: tokenName,
        token: renderLoraToken(syntax, { name: tokenName, weight, te, unet }),
        weight,
        te_weight: te,
        unet_weight: unet,
        base_model: adapter.base_model ?? adapter.sd_version ?? null,
        file_path: adapter.file_path,
        relative_path: adapter.relative_path,
        short_hash: adapter.autov3 ?? (adapter.sha256 ? adapter.sha256.slice(0, 12) : null),
      });
    }

    if (chosen.length === 0) warnings.push(request.adapters ? 'No adapters given for composition' : NO_ACTIVE_WARNING);
    if (duplicates.length > 0) warnings.push(`Duplicate adapter names found: ${duplicates.join(', ')}`);
    const zero = composed.filter((a) => a.weight === 0).map((a) => a.name);
    if (zero.length > 0) warnings.push(`Adapters with zero weight: ${zero.join(', ')}`);
    const mixed = baseModelWarning(composed);
    if (mixed) warnings.push(mixed);
    const missing = await this.missingFiles(used);
    if (missing.length > 0) warnings.push(`Adapter files are missing: ${missing.join(', ')}`);

    const triggerWords = request.include_triggers ? triggerWordsOf(used) : [];
    const activation = request.include_activation_text ? used.map((a) => a.activation_text?.trim() ?? '').filter(Boolean) : [];
    const tokens = composed.map((c) => c.token);
    const parts = [request.prefix?.trim() ?? '', ...tokens, triggerWords.join(', '), ...activation, request.suffix?.trim() ?? ''];
    return { prompt: parts.filter(Boolean).join(' '), tokens, warnings, syntax, trigger_words: triggerWords, adapters: composed };
  }

  private async choose(request: ComposeRequest, warnings: string[]): Promise<Array<{ adapter: Adapter; choice?: NonNullable<ComposeRequest['adapters']>[number] }>> {
    if (!request.adapters) return (await this.adapters.listActive()).map((adapter) => ({ adapter }));
    const found = await this.adapters.findByIds(request.adapters.map((a) => a.id));
    const byId = new Map(found.map((a) => [a.id, a]));
    const unknown = request.adapters.filter((a) => !byId.has(a.id)).map((a) => a.id);
    if (unknown.length > 0) warnings.push(`Unknown adapter ids: ${unknown.join(', ')}`);
    return request.adapters.flatMap((choice) => {
      const adapter = byId.get(choice.id);
      return adapter ? [{ adapter, choice }] : [];
    });
  }

  private async missingFiles(adapters: readonly Adapter[]): Promise<string[]> {
    const checks = await Promise.all(
      adapters.map(async (a) => (a.missing || !(await fs.access(a.file_path).then(() => true, () => false)) ? a.name : null)),
    );
    return checks.filter((n): n is string => n !== null);
  }
}

function fileStem(file: string): string {
  const base = path.basename(file);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

/** Triggers, then trained words, of every adapter in order, each once (case-insensitive). */
function triggerWordsOf(adapters: readonly Adapter[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const adapter of adapters) {
    for (const word of [...adapter.triggers, ...adapter.trained_words]) {
      const clean = word.trim();
      if (clean && !seen.has(clean.toLowerCase())) {
        seen.add(clean.toLowerCase());
        out.push(clean);
      }
    }
  }
  return out;
}

/** SD 1.5 and SDXL LoRAs do not mix: name the groups so the user can see which to drop. */
function baseModelWarning(adapters: readonly ComposedLora[]): string | null {
  const groups = new Map<string, { label: string; names: string[] }>();
  for (const a of adapters) {
    if (!a.base_model) continue;
    const key = a.base_model.toLowerCase().replace(/[\s._-]/g, '');
    const group = groups.get(key) ?? { label: a.base_model, names: [] };
    group.names.push(a.name);
    groups.set(key, group);
  }
  if (groups.size < 2) return null;
  return `Adapters are for different base models: ${[...groups.values()].map((g) => `${g.label} (${g.names.join(', ')})`).join('; ')}`;
}
