import { familyOfCivitaiBaseModel } from '../base-models.ts';

/** A base model or SD version as a user or client writes it ("SDXL", "SD1.5", "Pony", "flux") to a family. */
export function familyOf(value: string | null | undefined): string | null {
  if (!value) return null;
  const v = value.trim().toLowerCase();
  if (!v) return null;
  if (['sd1', 'sd2', 'sdxl', 'sd3', 'flux'].includes(v)) return v;
  if (/^sd\s*_?v?1/.test(v)) return 'sd1';
  if (/^sd\s*_?v?2/.test(v)) return 'sd2';
  if (/^sd\s*_?v?3/.test(v)) return 'sd3';
  const family = familyOfCivitaiBaseModel(v);
  if (family !== 'other') return family;
  return v.includes('xl') ? 'sdxl' : null;
}
