// Streaming the text of generated tokens: byte-level BPE tokens may split a UTF-8 character, and a stop
// string may be forming at the end of the text, so the tail that could still change is held back until
// the next token settles it. The concatenated pieces equal the final text exactly.

/** Turns "the text of every token so far" into the next piece that is safe to emit. */
export class TextStream {
  private emitted: number

  /** `alreadyEmitted`: UTF-16 units the reader already has (an answer resumed after a failover). */
  constructor(
    private readonly stops: string[],
    alreadyEmitted = 0,
  ) {
    this.emitted = alreadyEmitted
  }

  /** `text` is the decoded text of all tokens so far; `stopped` when a stop string appeared in it. */
  push(text: string): { piece: string; stopped: boolean } {
    if (this.stops.length > 0) {
      let cut = Number.POSITIVE_INFINITY
      for (const s of this.stops) {
        const at = text.indexOf(s)
        if (at >= 0 && at < cut) cut = at
      }
      if (Number.isFinite(cut)) return { piece: this.take(text, cut), stopped: true }
    }
    let safe = text.length
    // U+FFFD at the end may be an incomplete character that the next token's bytes complete.
    while (safe > this.emitted && text.charCodeAt(safe - 1) === 0xfffd) safe--
    safe = Math.min(safe, text.length - this.heldForStops(text))
    return { piece: this.take(text, safe), stopped: false }
  }

  /** The rest of the text once generation ended without a stop string. */
  finish(text: string): string {
    return this.take(text, text.length)
  }

  private take(text: string, end: number): string {
    if (end <= this.emitted) return ''
    const piece = text.slice(this.emitted, end)
    this.emitted = end
    return piece
  }

  /** Length of the longest end of `text` that is the start of a stop string (it may yet complete). */
  private heldForStops(text: string): number {
    let held = 0
    for (const s of this.stops) {
      for (let n = Math.min(s.length - 1, text.length); n > held; n--) {
        if (text.endsWith(s.slice(0, n))) {
          held = n
          break
        }
      }
    }
    return held
  }
}
