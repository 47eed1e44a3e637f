import fs from 'node:fs';
import { rootRefusal, type RootPolicyOptions } from '../../lib/root-policy.ts';

/**
 * What an archive's settings may change here. An archive is a file anyone can edit, and whoever holds the API key may
 * import one; so it never carries a secret in (it could pair a saved password with a server of its choosing and have
 * the password sent there) and never adds a library root the root policy refuses.
 */
export const ROOTS_SETTING = 'library.roots';
const SERVERS_SETTING = 'generation.servers';
/** Settings that are secrets as a whole: the current value stays. */
const SECRET_SETTINGS = new Set(['civitai.api_key']);
/** Fields of a saved generation server that are, or decide where to send, its credentials. */
const SERVER_SECRET_FIELDS = ['username', 'password', 'credentials_origin'];

export interface ImportedSetting {
  /** The value to store, or undefined to keep what is stored now. */
  value: unknown;
  warning?: string;
}

type Servers = Record<string, Record<string, unknown>>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * A setting as an archive carries it: never a secret (an archive is a file that travels; the import would refuse the
 * secret anyway). Undefined: the setting is left out.
 */
export function settingForExport(key: string, value: unknown): unknown {
  if (SECRET_SETTINGS.has(key)) return undefined;
  if (key === SERVERS_SETTING && isRecord(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([name, server]) => [name, isRecord(server) ? Object.fromEntries(Object.entries(server).filter(([f]) => !SERVER_SECRET_FIELDS.includes(f))) : server]),
    );
  }
  return value;
}

export function settingForImport(key: string, imported: unknown, current: unknown, policy: RootPolicyOptions): ImportedSetting {
  if (SECRET_SETTINGS.has(key)) return { value: undefined };
  if (key === SERVERS_SETTING) return { value: serversWithCurrentSecrets(imported, current) };
  if (key === ROOTS_SETTING && Array.isArray(imported)) {
    // Roots of another machine would only add folders that do not exist here; refused ones never become roots.
    const kept = imported.filter((v): v is string => typeof v === 'string' && fs.existsSync(v) && rootRefusal(v, policy) === null);
    const dropped = imported.length - kept.length;
    return { value: kept, warning: dropped > 0 ? `${dropped} library root(s) from the archive do not exist here or may not be roots, and were not added` : undefined };
  }
  return { value: imported };
}

/** The archive's servers (URLs, defaults) with the credentials saved here, never the archive's. */
function serversWithCurrentSecrets(imported: unknown, current: unknown): unknown {
  if (!isRecord(imported)) return current;
  const here: Servers = isRecord(current) ? (current as Servers) : {};
  const out: Servers = {};
  for (const [name, server] of Object.entries(imported)) {
    if (!isRecord(server)) continue;
    const merged: Record<string, unknown> = { ...server };
    for (const field of SERVER_SECRET_FIELDS) {
      delete merged[field];
      if (isRecord(here[name]) && here[name][field] !== undefined) merged[field] = here[name][field];
    }
    out[name] = merged;
  }
  return out;
}
