// Writes length-prefixed frames to a stream, coalescing the frames produced within a short window into
// one send: a token is a frame of a few dozen bytes, and each send costs a muxer frame and an encryption
// on both ends, which dominated a short answer's time over libp2p (bench/serving.ts). A frame waits at most
// until the event loop's next turn or COALESCE_MS after the first unsent one, whichever is first, so
// streaming still shows tokens as they come. Back-pressure: a send the stream cannot take makes the next
// write wait for it to drain, at most `timeoutMs`.
import type { Stream } from '@libp2p/interface'
import * as lp from 'it-length-prefixed'

/** The longest a frame is held back to share a send with the next ones. */
export const COALESCE_MS = 2
/** Unsent bytes that trigger a send at once. */
export const COALESCE_MAX_BYTES = 16 * 1024

export class FrameWriter {
  private pending: Uint8Array[] = []
  private bytes = 0
  private since = 0
  private timer?: NodeJS.Timeout
  /** Set while the stream drains; resolves to the error that ended the wait, if any. */
  private draining?: Promise<Error | undefined>

  constructor(
    private readonly stream: Stream,
    private readonly signal: AbortSignal,
    private readonly timeoutMs: number,
    private readonly onStalled: () => Error,
  ) {}

  /** Queues one frame; `now` sends everything queued before returning (the last frame of an answer). */
  async write(message: Uint8Array, now = false): Promise<void> {
    await this.waitForDrain()
    const frame = lp.encode.single(message).subarray()
    if (this.pending.length === 0) this.since = performance.now()
    this.pending.push(frame)
    this.bytes += frame.byteLength
    if (now || this.bytes >= COALESCE_MAX_BYTES || performance.now() - this.since >= COALESCE_MS) {
      this.send()
      await this.waitForDrain()
      return
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined
      this.send()
    }, COALESCE_MS)
  }

  /** Sends what is queued now, without waiting (before an error frame, so frames keep their order). */
  flush(): void {
    this.send()
  }

  private send(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    if (this.pending.length === 0) return
    const data = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending)
    this.pending = []
    this.bytes = 0
    let sent: boolean
    try {
      sent = this.stream.send(data)
    } catch (err) {
      // Closed or aborted meanwhile (a deferred send has no caller to throw to): the next write says so.
      this.draining = Promise.resolve(err as Error)
      return
    }
    if (sent) return
    this.draining = this.stream
      .onDrain({ signal: AbortSignal.any([this.signal, AbortSignal.timeout(this.timeoutMs)]) })
      .then(
        () => undefined,
        () => (this.signal.aborted ? (this.signal.reason as Error) : this.onStalled()),
      )
  }

  private async waitForDrain(): Promise<void> {
    if (!this.draining) return
    const err = await this.draining
    this.draining = undefined
    if (err) throw err
  }
}
