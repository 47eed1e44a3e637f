/** A delivery that did not succeed. `result` is what the job stores (the original's `{status, detail}` shape). */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly result: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/** Sends a composed prompt somewhere. Returns the result to store on success; throws DeliveryError otherwise. */
export interface DeliveryTarget {
  readonly mode: string;
  deliver(input: { id: string; prompt: string; params: Record<string, unknown>; signal: AbortSignal }): Promise<Record<string, unknown>>;
}
