import type { Logger } from 'pino';
import { isSealed, openSecret, sealSecret } from '../lib/secret-box.ts';

/**
 * Seals secrets before they are stored and opens them when read. A value that does not open (the key was lost or
 * changed) counts as unset, with a warning: the user enters it again, and the server never fails over it.
 */
export class SecretCipher {
  /** Stored values already warned about: settings are read on every request, the log needs to hear it once. */
  private readonly warned = new Set<string>();

  constructor(
    private readonly key: Buffer,
    private readonly logger: Logger,
  ) {}

  seal(plaintext: string): string {
    return sealSecret(this.key, plaintext);
  }

  /** The plaintext, or null when the stored value cannot be opened. `what` names the secret in the warning. */
  open(stored: string, what: string): string | null {
    try {
      return openSecret(this.key, stored);
    } catch (error) {
      if (this.warned.has(stored)) return null;
      this.warned.add(stored);
      this.logger.warn({ secret: what, reason: (error as Error).message }, 'a saved secret cannot be decrypted (SECRETS_KEY or DATA_DIR/secret.key changed?); it is treated as unset');
      return null;
    }
  }

  /** A plaintext value left by an older version (to be sealed at the next write). */
  isLegacy(stored: string): boolean {
    return !isSealed(stored);
  }
}
