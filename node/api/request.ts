// Request validation for API routes: zod schemas, and errors fastify turns into {error, message} bodies.
import type { z } from 'zod'

export function httpError(statusCode: number, code: string, message: string): Error {
  return Object.assign(new Error(message), { statusCode, code })
}

/** Parses a request part with `schema`; the first problem becomes a 400 naming the field. */
export function parseRequest<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const issue = result.error.issues[0]!
  throw httpError(400, 'BAD_REQUEST', `${issue.path.join('.') || 'request'}: ${issue.message}`)
}
