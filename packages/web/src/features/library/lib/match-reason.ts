import type { AdapterMatch } from '@lora-manager/contract';

/** A few words saying why a search matched an adapter, for its card, row or the Compose picker. */
export function describeMatch(match: AdapterMatch | null | undefined): string | null {
  if (!match) return null;
  if (match.field === 'name') return match.kind === 'exact' ? 'exact name' : match.kind === 'prefix' ? 'name starts with it' : 'in the name';
  const label = match.field === 'trigger' ? 'trigger word' : match.field;
  return `${label}: ${match.value}`;
}
