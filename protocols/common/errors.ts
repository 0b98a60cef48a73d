// Typed errors with codes, after Lodestar's LodestarError: the code is what a user reads, what a metric
// is labelled with, and what a test asserts on; the metadata carries the details.
export class OpenLedgerError<T extends { code: string }> extends Error {
  readonly type: T

  constructor(type: T, message?: string) {
    super(message ?? type.code)
    this.type = type
    this.name = new.target.name
  }

  get code(): T['code'] {
    return this.type.code
  }

  toObject(): Record<string, unknown> {
    return { ...this.type, message: this.message }
  }
}

/** Returns true when `err` is an OpenLedgerError with the given code. */
export function hasCode(err: unknown, code: string): boolean {
  return err instanceof OpenLedgerError && err.code === code
}
