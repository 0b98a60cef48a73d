// Structured JSON logs (pino) to stdout: one line per event, readable by any log pipeline.
import { pino } from 'pino'

export function createLogger(level: string, bindings: Record<string, unknown> = {}) {
  return pino({ level, base: { ...bindings }, timestamp: pino.stdTimeFunctions.isoTime })
}
