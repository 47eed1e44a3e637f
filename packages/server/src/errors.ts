/**
 * Errors with a stable `code`. Services throw these; the one error handler in app.ts turns them into
 * application/problem+json. The message is the human title, as the original API put it.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class NotFoundError extends AppError {
  constructor(code: string, message: string) {
    super(404, code, message);
  }
}

export class BadRequestError extends AppError {
  constructor(code: string, message: string, detail?: string) {
    super(400, code, message, detail);
  }
}

export class ConflictError extends AppError {
  constructor(code: string, message: string) {
    super(409, code, message);
  }
}

/** A browser page of another origin tried to use the session cookie where CORS does not protect us (the WebSocket). */
export class ForbiddenOriginError extends AppError {
  constructor() {
    super(403, 'origin_not_allowed', 'This origin may not use the session cookie', 'Open the app from the server itself, or list the origin in CORS_ORIGINS.');
  }
}

export class UnauthorizedError extends AppError {
  constructor() {
    super(401, 'unauthorized', 'A valid API key is required', 'Send it in the X-API-Key header.');
  }
}
