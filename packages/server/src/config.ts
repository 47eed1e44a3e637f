import os from 'node:os';
import path from 'node:path';
import { parseSecretKey } from './lib/secret-box.ts';

/**
 * The only reader of process.env. Every setting is parsed and checked once at start-up; a bad value stops the
 * process with a message that names the variable and what it accepts.
 */
export interface Config {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string;
  redisUrl: string | null;
  apiKey: string | null;
  /**
   * Key that encrypts secrets stored in the database (SECRETS_KEY, 32 bytes); null: DATA_DIR/secret.key, made on
   * first start. Processes sharing one database must share it.
   */
  secretsKey: Buffer | null;
  loraPaths: string[];
  outputDir: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Whether LOG_LEVEL was set at all: one-shot CLI commands log only warnings unless it was. */
  logLevelSet: boolean;
  /** What /frontend/settings tells the SPA; null means the API on the same origin. */
  backendUrl: string | null;
  corsOrigins: string[];
  /**
   * Host names (besides loopback names, IP addresses and this machine's name) that requests may address when no
   * API_KEY is set: the defence against DNS rebinding, where a web page's own name is pointed at this server.
   */
  allowedHosts: string[];
  webDistDir: string | null;
  polling: { queueMs: number; websocketRetryMs: number; systemStatusMs: number };
  /** Largest accepted JSON body, bytes. */
  bodyLimit: number;
  /** Threads that read safetensors headers during a scan (0 = on the main thread). */
  scanThreads: number;
  /**
   * Whether the C safetensors header reader (built by `npm install`) may be used; LORA_MANAGER_NATIVE_READER=off, 0 or
   * false turns it off (any other value leaves it on), and the JavaScript reader gives the same results more slowly.
   */
  nativeHeaderReader: boolean;
  /** CivitAI REST API base (tests point it at a local server). */
  civitaiApiUrl: string;
  /** Least time between two CivitAI requests (their API rate-limits). */
  civitaiMinIntervalMs: number;
  /** Namespace of every Redis key and channel (several installations can share one Redis). */
  redisPrefix: string;
  /** Whether `serve` runs job handlers itself. Always true in embedded mode; default false with REDIS_URL (workers do). */
  runWorkers: boolean;
  /** How long a job whose worker died waits before another worker takes it over (scaled mode). */
  queueStallTimeoutMs: number;
  /** Thresholds of /system/status and the dashboard. */
  systemStatus: { queueWarningActive: number; queueWarningFailed: number; importerStaleHours: number; windowHours: number };
  generation: GenerationConfig;
  delivery: DeliveryConfig;
  archive: ArchiveConfig;
  library: LibraryLimitsConfig;
  /** Background sampling of CPU, memory, GPU and queue depth for analytics (every serve and worker process). */
  analytics: AnalyticsConfig;
}

/**
 * Bounds on what the library may reach: a root can be any folder a client names, so walks and the watcher are
 * capped and symbolic links that lead out of the roots are refused unless the owner allows them.
 */
export interface LibraryLimitsConfig {
  /** Follow symbolic links whose target lies outside every library root (off: such links are reported, not read). */
  allowLinksOut: boolean;
  /** Folder entries one walk of a root reads before it stops and reports the root as truncated. */
  maxEntries: number;
  /** Folder levels below a root that a walk and the watcher descend. */
  maxDepth: number;
  /** Entries above which a root is not watched for changes but rescanned periodically instead. */
  watchMaxEntries: number;
  /** Time between the periodic rescans of roots too large to watch. */
  rescanIntervalMs: number;
  /** Queue an incremental scan of every library root when `serve` starts (unchanged files cost one stat each). */
  scanOnStart: boolean;
}

/** Generation servers and how generation jobs run (the web page can override the server settings at run time). */
export interface GenerationConfig {
  sdnext: {
    baseUrl: string | null;
    username: string | null;
    password: string | null;
    timeoutMs: number;
    pollIntervalMs: number;
    defaultSteps: number;
    defaultSampler: string;
    defaultCfgScale: number;
  };
  comfyui: { baseUrl: string | null; checkpoint: string | null; timeoutMs: number };
  /** Runs of one generation job before it fails, the first included. */
  maxAttempts: number;
  /** First retry delay; doubles each retry. */
  backoffMs: number;
  /** One job at a time per generation server (jobs share a queue group per server URL). */
  onePerServer: boolean;
  /** Generation jobs one process runs at once (across servers, or on one server when onePerServer is off). */
  concurrency: number;
  thumbnailSize: number;
}

export interface DeliveryConfig {
  /** Hosts (`name` or `name:port`, `*` for any) http deliveries may reach. Empty: http deliveries are refused. */
  httpAllowedHosts: string[];
  httpTimeoutMs: number;
  cliEnabled: boolean;
  /** Argument list run after a cli delivery wrote its prompt file; `{file}`, `{prompt}`, `{id}` are replaced per argument. */
  cliCommand: string[] | null;
  cliTimeoutMs: number;
  maxAttempts: number;
}

/** Limits on uploaded and imported archives, and the default backup schedule. */
export interface ArchiveConfig {
  /** Largest archive accepted by POST /import, bytes. */
  maxUploadBytes: number;
  /** Largest total uncompressed size of one archive's entries, bytes. */
  maxUncompressedBytes: number;
  /** Largest uncompressed/compressed ratio of an entry (and of the whole archive). */
  maxRatio: number;
  maxEntries: number;
  /** Hours between scheduled backups; 0 = no schedule unless one is set through the API. */
  backupScheduleHours: number;
  backupKeep: number;
  backupScheduleType: 'full' | 'metadata';
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

class EnvReader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  optional(name: string): string | null {
    return this.raw(name) ?? null;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!/^-?\d+$/.test(value) || n < min || n > max) {
      this.problems.push(`${name} must be a whole number from ${min} to ${max} (got "${value}")`);
      return fallback;
    }
    return n;
  }

  number(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) {
      this.problems.push(`${name} must be a number from ${min} to ${max} (got "${value}")`);
      return fallback;
    }
    return n;
  }

  /** A JSON array of strings (an argument list). */
  argv(name: string): string[] | null {
    const value = this.raw(name);
    if (value === undefined) return null;
    try {
      const parsed: unknown = JSON.parse(value);
      if (Array.isArray(parsed) && parsed.length > 0 && parsed.every((p) => typeof p === 'string' && p !== '')) return parsed;
    } catch {
      /* reported below */
    }
    this.problems.push(`${name} must be a JSON array of non-empty strings, e.g. ["/usr/bin/notify-send","{prompt}"] (got "${value}")`);
    return null;
  }

  bool(name: string): boolean | null {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined) return null;
    if (['1', 'true', 'yes', 'on'].includes(value)) return true;
    if (['0', 'false', 'no', 'off'].includes(value)) return false;
    this.problems.push(`${name} must be true or false (got "${value}")`);
    return null;
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(value)) {
      this.problems.push(`${name} must be one of ${allowed.join(', ')} (got "${value}")`);
      return fallback;
    }
    return value as T;
  }

  url(name: string, protocols: string[]): string | null {
    const value = this.raw(name);
    if (value === undefined) return null;
    try {
      const parsed = new URL(value);
      if (!protocols.includes(parsed.protocol)) throw new Error('protocol');
      return value;
    } catch {
      this.problems.push(`${name} must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')} (got "${value}")`);
      return null;
    }
  }

  /** A list given as a JSON array or separated by the platform's path delimiter (':' here) or commas. */
  list(name: string): string[] {
    const value = this.raw(name);
    if (value === undefined) return [];
    if (value.startsWith('[')) {
      try {
        const parsed: unknown = JSON.parse(value);
        if (Array.isArray(parsed) && parsed.every((p) => typeof p === 'string')) return parsed.filter((p) => p.trim());
      } catch {
        /* reported below */
      }
      this.problems.push(`${name} must be a JSON array of strings or a ${path.delimiter}-separated list (got "${value}")`);
      return [];
    }
    return value
      .split(new RegExp(`[${path.delimiter},]`))
      .map((p) => p.trim())
      .filter(Boolean);
  }
}

const GIB = 1024 ** 3;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function readGenerationConfig(read: EnvReader): GenerationConfig {
  const stripSlash = (url: string | null) => (url === null ? null : url.replace(/\/+$/, ''));
  return {
    sdnext: {
      baseUrl: stripSlash(read.url('SDNEXT_BASE_URL', ['http:', 'https:'])),
      username: read.optional('SDNEXT_USERNAME'),
      password: read.optional('SDNEXT_PASSWORD'),
      timeoutMs: Math.round(read.number('SDNEXT_TIMEOUT', 120, 1, 86_400) * 1000),
      pollIntervalMs: Math.round(read.number('SDNEXT_POLL_INTERVAL', 1, 0.02, 60) * 1000),
      defaultSteps: read.int('SDNEXT_DEFAULT_STEPS', 20, 1, 1000),
      defaultSampler: read.string('SDNEXT_DEFAULT_SAMPLER', 'DPM++ 2M'),
      defaultCfgScale: read.number('SDNEXT_DEFAULT_CFG_SCALE', 7, 0, 100),
    },
    comfyui: {
      baseUrl: stripSlash(read.url('COMFYUI_BASE_URL', ['http:', 'https:'])),
      checkpoint: read.optional('COMFYUI_CHECKPOINT'),
      timeoutMs: Math.round(read.number('COMFYUI_TIMEOUT', 600, 1, 86_400) * 1000),
    },
    maxAttempts: read.int('GENERATION_MAX_ATTEMPTS', 3, 1, 100),
    backoffMs: read.int('GENERATION_BACKOFF_MS', 2000, 0, 3_600_000),
    onePerServer: read.bool('GENERATION_ONE_JOB_PER_SERVER') ?? true,
    concurrency: read.int('GENERATION_CONCURRENCY', 2, 1, 64),
    thumbnailSize: read.int('GENERATION_THUMBNAIL_SIZE', 320, 32, 2048),
  };
}

function readDeliveryConfig(read: EnvReader): DeliveryConfig {
  return {
    // Commas or spaces only: a host may carry a port, so ':' cannot separate entries here.
    httpAllowedHosts: (read.raw('DELIVERY_HTTP_ALLOWED_HOSTS') ?? '')
      .split(/[\s,]+/)
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
    httpTimeoutMs: Math.round(read.number('DELIVERY_HTTP_TIMEOUT', 30, 0.1, 3600) * 1000),
    cliEnabled: read.bool('DELIVERY_CLI_ENABLED') ?? false,
    cliCommand: read.argv('DELIVERY_CLI_COMMAND'),
    cliTimeoutMs: Math.round(read.number('DELIVERY_CLI_TIMEOUT', 60, 0.1, 3600) * 1000),
    maxAttempts: read.int('DELIVERY_MAX_ATTEMPTS', 3, 1, 100),
  };
}

/** SECRETS_KEY: 32 random bytes as 64 hex digits or base64 (e.g. `openssl rand -base64 32`). */
function readSecretsKey(read: EnvReader): Buffer | null {
  const value = read.raw('SECRETS_KEY');
  if (value === undefined) return null;
  const key = parseSecretKey(value);
  if (!key) read.problems.push('SECRETS_KEY must be 32 bytes written as 64 hex digits or base64, e.g. the output of `openssl rand -base64 32`');
  return key;
}

/** Parse the environment into a Config, relative paths resolved against `cwd`. Throws ConfigError listing every problem. */
export interface AnalyticsConfig {
  /** Seconds between two resource samples; 0 turns sampling off. */
  sampleIntervalS: number;
  /** Raw samples older than this are folded into hourly averages. */
  sampleRawHours: number;
  /** Samples (raw or hourly) older than this are deleted. */
  sampleRetentionDays: number;
}

export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const read = new EnvReader(env);
  const dataDir = path.resolve(cwd, read.string('DATA_DIR', './data'));

  let databaseUrl = read.raw('DATABASE_URL') ?? `sqlite:${path.join(dataDir, 'lora-manager.db')}`;
  if (!/^(postgres|postgresql):\/\//.test(databaseUrl)) {
    const file = databaseUrl.replace(/^(sqlite|file):(\/\/)?/, '');
    if (!file) read.problems.push('DATABASE_URL must be postgres://…, sqlite:PATH or a file path');
    databaseUrl = file === ':memory:' ? 'sqlite::memory:' : `sqlite:${path.resolve(cwd, file)}`;
  }

  const backendUrl = read.optional('BACKEND_URL');
  const config: Config = {
    host: read.string('HOST', '127.0.0.1'),
    port: read.int('PORT', 8000, 0, 65535),
    dataDir,
    databaseUrl,
    redisUrl: read.url('REDIS_URL', ['redis:', 'rediss:']),
    apiKey: read.optional('API_KEY'),
    secretsKey: readSecretsKey(read),
    loraPaths: read.list('LORA_PATHS').map((p) => path.resolve(cwd, p)),
    outputDir: path.resolve(cwd, read.string('OUTPUT_DIR', path.join(dataDir, 'outputs'))),
    logLevel: read.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
    logLevelSet: read.optional('LOG_LEVEL') !== null,
    backendUrl,
    corsOrigins: read.list('CORS_ORIGINS'),
    allowedHosts: read.list('ALLOWED_HOSTS').map((h) => h.toLowerCase()),
    webDistDir: read.optional('WEB_DIST_DIR'),
    polling: {
      queueMs: read.int('GENERATION_QUEUE_POLL_INTERVAL_MS', 2000, 1, 3_600_000),
      websocketRetryMs: read.int('GENERATION_WEBSOCKET_RETRY_INTERVAL_MS', 3000, 1, 3_600_000),
      systemStatusMs: read.int('GENERATION_SYSTEM_STATUS_POLL_INTERVAL_MS', 10000, 1, 3_600_000),
    },
    bodyLimit: read.int('BODY_LIMIT_BYTES', 10 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    scanThreads: read.int('SCAN_THREADS', Math.min(4, os.availableParallelism()), 0, 64),
    // Only these spellings turn the C reader off, as before; anything else leaves it on (it is never a start-up error).
    nativeHeaderReader: !['off', '0', 'false'].includes((read.optional('LORA_MANAGER_NATIVE_READER') ?? '').toLowerCase()),
    civitaiApiUrl: (read.url('CIVITAI_API_URL', ['https:', 'http:']) ?? 'https://civitai.com/api/v1').replace(/\/+$/, ''),
    civitaiMinIntervalMs: read.int('CIVITAI_MIN_INTERVAL_MS', 1000, 0, 600_000),
    generation: readGenerationConfig(read),
    delivery: readDeliveryConfig(read),
    archive: {
      maxUploadBytes: read.int('IMPORT_MAX_UPLOAD_BYTES', 64 * GIB, 1024, Number.MAX_SAFE_INTEGER),
      maxUncompressedBytes: read.int('ARCHIVE_MAX_UNCOMPRESSED_BYTES', 256 * GIB, 1024, Number.MAX_SAFE_INTEGER),
      maxRatio: read.int('ARCHIVE_MAX_RATIO', 100, 2, 1_000_000),
      maxEntries: read.int('ARCHIVE_MAX_ENTRIES', 500_000, 1, 10_000_000),
      backupScheduleHours: read.int('BACKUP_SCHEDULE_HOURS', 0, 0, 24 * 365),
      backupKeep: read.int('BACKUP_KEEP', 7, 1, 1000),
      backupScheduleType: read.oneOf('BACKUP_SCHEDULE_TYPE', 'metadata', ['full', 'metadata'] as const),
    },
    library: {
      allowLinksOut: read.bool('LIBRARY_ALLOW_LINKS_OUT') ?? false,
      maxEntries: read.int('LIBRARY_MAX_ENTRIES', 1_000_000, 1, 100_000_000),
      maxDepth: read.int('LIBRARY_MAX_DEPTH', 32, 1, 1000),
      watchMaxEntries: read.int('LIBRARY_WATCH_MAX_ENTRIES', 200_000, 0, 100_000_000),
      rescanIntervalMs: read.int('LIBRARY_RESCAN_MINUTES', 30, 1, 7 * 24 * 60) * 60_000,
      scanOnStart: read.bool('LIBRARY_SCAN_ON_START') ?? true,
    },
    analytics: {
      sampleIntervalS: read.int('ANALYTICS_SAMPLE_INTERVAL_S', 60, 0, 3600),
      sampleRawHours: read.int('ANALYTICS_SAMPLE_RAW_HOURS', 48, 1, 24 * 90),
      sampleRetentionDays: read.int('ANALYTICS_SAMPLE_RETENTION_DAYS', 90, 1, 3650),
    },
    redisPrefix: read.string('REDIS_PREFIX', 'lora-manager'),
    runWorkers: true,
    queueStallTimeoutMs: read.int('QUEUE_STALL_TIMEOUT_MS', 30_000, 1000, 3_600_000),
    systemStatus: {
      queueWarningActive: read.int('SYSTEM_QUEUE_WARNING_ACTIVE', 5, 0, 1_000_000),
      queueWarningFailed: read.int('SYSTEM_QUEUE_WARNING_FAILED', 0, 0, 1_000_000),
      importerStaleHours: read.int('SYSTEM_IMPORTER_STALE_HOURS', 24, 1, 24 * 365),
      windowHours: read.int('SYSTEM_STATUS_WINDOW_HOURS', 24, 1, 24 * 365),
    },
  };
  const runWorkers = read.bool('RUN_WORKERS');
  if (runWorkers === false && config.redisUrl === null) {
    read.problems.push('RUN_WORKERS=false needs REDIS_URL: without Redis workers, serve is the only process that runs jobs');
  }
  config.runWorkers = runWorkers ?? config.redisUrl === null;
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(config.redisPrefix)) {
    read.problems.push(`REDIS_PREFIX must be 1-64 letters, digits, '.', '_' or '-' (got "${config.redisPrefix}")`);
  }
  if (config.apiKey !== null && config.apiKey.length < 8) {
    read.problems.push('API_KEY must be at least 8 characters long when set');
  }
  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return config;
}
