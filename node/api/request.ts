// Request validation for API routes: zod schemas whose first problem becomes a typed BAD_REQUEST.
import type { z } from 'zod'
import { apiError } from './errors.ts'

/** Parses a request part with `schema`; the first problem becomes a 400 naming the field. */
export function parseRequest<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const issue = result.error.issues[0]!
  throw apiError('BAD_REQUEST', `${issue.path.join('.') || 'request'}: ${issue.message}`)
}
