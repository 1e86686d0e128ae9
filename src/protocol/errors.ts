/**
 * Engine errors. comlink rebuilds a thrown error as a plain Error keeping name and
 * message, so the UI branches on `err.name`.
 */
export class CheckpointMismatchError extends Error {
  constructor(readonly fileName: string, message: string) {
    super(message);
    this.name = 'CheckpointMismatchError';
  }
}

export class NotReadyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotReadyError';
  }
}

export class RunInProgressError extends Error {
  constructor() {
    super('A run is already in progress; stop it first.');
    this.name = 'RunInProgressError';
  }
}

/** A population or buffer did not fit: the run stops before it starts, with the numbers. */
export class OutOfMemoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutOfMemoryError';
  }
}
