import { loraBaseName } from './recipe-draft.ts';

/**
 * Finding a recipe's LoRA in the catalogue. Hashes first, since names differ between machines: full SHA-256, AutoV2
 * (its first 10 hex), AutoV3 (12 hex of the tensor-data hash: A1111's `Lora hashes`), then an 8-hex SDNext short hash
 * against either. Then names, case-insensitively: the file name without extension, the alias (kohya's `ss_output_name`,
 * what A1111 and SDNext write in `<lora:…>` when set to "alias from file"), then the adapter's name.
 */

export type MatchKind = 'sha256' | 'autov2' | 'autov3' | 'short_hash' | 'file_name' | 'alias' | 'name';

export interface MatchCandidate {
  id: string;
  name: string;
  file_path: string;
  sha256: string | null;
  autov2: string | null;
  autov3: string | null;
  /** The name the file was trained under (`ss_output_name`), when its header says. */
  alias?: string | null;
}

export interface LoraMatch<T extends MatchCandidate = MatchCandidate> {
  adapter: T;
  kind: MatchKind;
}

export interface MatchIndex<T extends MatchCandidate = MatchCandidate> {
  match(lora: { name: string; hash: string | null }): LoraMatch<T> | null;
  readonly size: number;
}

function fileStem(filePath: string): string {
  return loraBaseName(filePath).toLowerCase();
}

/** Maps over the candidates; the first candidate wins a key (callers order them, e.g. present files first). */
export function buildMatchIndex<T extends MatchCandidate>(candidates: readonly T[]): MatchIndex<T> {
  const sha = new Map<string, T>();
  const v2 = new Map<string, T>();
  const v3 = new Map<string, T>();
  const short = new Map<string, T>();
  const files = new Map<string, T>();
  const aliases = new Map<string, T>();
  const names = new Map<string, T>();
  const put = (map: Map<string, T>, key: string | null | undefined, value: T) => {
    if (key && !map.has(key)) map.set(key, value);
  };
  for (const c of candidates) {
    const s = c.sha256?.toLowerCase() ?? null;
    put(sha, s, c);
    put(v2, c.autov2?.toLowerCase() ?? s?.slice(0, 10), c);
    put(v3, c.autov3?.toLowerCase().slice(0, 12), c);
    put(short, s?.slice(0, 8), c);
    put(short, c.autov3?.toLowerCase().slice(0, 8), c);
    put(files, fileStem(c.file_path), c);
    put(aliases, c.alias?.trim().toLowerCase(), c);
    put(names, c.name.trim().toLowerCase(), c);
  }
  return {
    size: candidates.length,
    match({ name, hash }) {
      const h = hash?.toLowerCase() ?? null;
      if (h) {
        if (h.length === 64 && sha.has(h)) return { adapter: sha.get(h) as T, kind: 'sha256' };
        if (h.length === 10 && v2.has(h)) return { adapter: v2.get(h) as T, kind: 'autov2' };
        if (h.length === 12 && v3.has(h)) return { adapter: v3.get(h) as T, kind: 'autov3' };
        if (h.length === 8 && short.has(h)) return { adapter: short.get(h) as T, kind: 'short_hash' };
      }
      const full = name.trim().toLowerCase();
      const base = loraBaseName(name).toLowerCase();
      const byFile = files.get(base) ?? files.get(full);
      if (byFile) return { adapter: byFile, kind: 'file_name' };
      const byAlias = aliases.get(full) ?? aliases.get(base);
      if (byAlias) return { adapter: byAlias, kind: 'alias' };
      const byName = names.get(full) ?? names.get(base);
      if (byName) return { adapter: byName, kind: 'name' };
      return null;
    },
  };
}
