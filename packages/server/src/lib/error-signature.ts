/**
 * Failed generations grouped by what went wrong, not by the exact text: numbers, ids, hashes, URLs and paths differ
 * between two failures of the same kind, so they are folded into placeholders. The original grouped by the raw
 * result, which made its error "type" a whole JSON blob.
 */

const MAX_SIGNATURE = 200;
const MAX_EXAMPLE = 500;

const FOLDS: Array<[RegExp, string]> = [
  [/\bhttps?:\/\/[^\s'"<>]+/gi, '<url>'],
  [/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<id>'],
  // Windows and POSIX paths of at least two segments ("/a/b", "C:\x\y", "./x/y").
  [/(?:[a-z]:\\|\.{0,2}\/)?(?:[\w.@~-]+[\\/]){1,}[\w.@~-]+/gi, '<path>'],
  [/\b[0-9a-f]{8,}\b/gi, '<hash>'],
  // Standalone numbers only: "txt2img" and "sd15" name things, "500" and "2.00" measure them.
  [/\b\d+(?:\.\d+)?\b/g, '<n>'],
];

/** The message a failed job reports: its error, else the first message-like field of its result. */
export function failureMessage(error: string | null, result: string | null): string {
  if (error?.trim()) return error.trim();
  if (result) {
    try {
      const parsed = JSON.parse(result) as unknown;
      if (parsed && typeof parsed === 'object') {
        for (const key of ['error_message', 'error', 'message', 'detail', 'reason']) {
          const value = (parsed as Record<string, unknown>)[key];
          if (typeof value === 'string' && value.trim()) return value.trim();
        }
      }
    } catch {
      if (result.trim()) return result.trim();
    }
  }
  return 'Unknown error';
}

/** What groups a failure with others of its kind: placeholders for variable parts, whitespace collapsed, bounded. */
export function errorSignature(message: string): string {
  let text = message.replace(/\s+/g, ' ').trim();
  for (const [pattern, placeholder] of FOLDS) text = text.replace(pattern, placeholder);
  text = text.slice(0, MAX_SIGNATURE);
  return text || 'Unknown error';
}

/** A real message kept beside its signature, bounded so a huge server response cannot bloat the roll-up. */
export function errorExample(message: string): string {
  return message.replace(/\s+/g, ' ').trim().slice(0, MAX_EXAMPLE);
}
