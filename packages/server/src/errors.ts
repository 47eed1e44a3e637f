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

export class UnauthorizedError extends AppError {
  constructor() {
    super(401, 'unauthorized', 'A valid API key is required', 'Send it in the X-API-Key header.');
  }
}
