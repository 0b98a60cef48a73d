// Reading a libp2p stream's incoming messages as an async iterable, shared by the request/response
// protocols (capacity, infer).
import type { Stream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

/**
 * A stream's incoming messages until the remote closes its end. libp2p's own iterator misses a close that
 * came before it was attached (a responder that closes at once without writing) and then waits forever;
 * this one also reads `readableEnded`, as protocols/datanet/block-sync.ts does.
 */
export async function* streamMessages(stream: Stream): AsyncGenerator<Uint8Array | Uint8ArrayList> {
  const queue: Array<Uint8Array | Uint8ArrayList> = []
  // 'end' may have passed with data still held (pushed back by the protocol negotiation's read-ahead):
  // that data comes once a 'message' listener is attached, so the stream is over only when both are true.
  const over = () => stream.readableEnded && stream.readBufferLength === 0
  let ended = false
  let failure: Error | undefined
  let wake: (() => void) | undefined
  const notify = () => {
    wake?.()
    wake = undefined
  }
  const onMessage = (evt: { data: Uint8Array | Uint8ArrayList }) => {
    queue.push(evt.data)
    notify()
  }
  const onEnd = () => {
    ended = true
    notify()
  }
  const onClose = (evt: { error?: Error }) => {
    if (evt.error) failure = evt.error
    if (stream.readBufferLength === 0) ended = true
    notify()
  }
  stream.addEventListener('message', onMessage)
  stream.addEventListener('end', onEnd)
  stream.addEventListener('close', onClose)
  try {
    while (true) {
      const next = queue.shift()
      if (next !== undefined) {
        yield next
        continue
      }
      if (failure) throw failure
      if (ended || over()) return
      await new Promise<void>((resolve) => {
        wake = resolve
      })
    }
  } finally {
    stream.removeEventListener('message', onMessage)
    stream.removeEventListener('end', onEnd)
    stream.removeEventListener('close', onClose)
  }
}
