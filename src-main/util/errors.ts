/**
 * An error caused by the user's input or environment (bad config, missing file, no GPU driver, out of memory).
 * Front ends print its message as one clear line, without a stack trace; the message names the problem and
 * what to do about it.
 */
export class UserError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
    this.name = 'UserError';
  }
}
