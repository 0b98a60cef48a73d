/**
 * Suffix array construction by induced sorting (SA-IS; Nong, Zhang and Chan, "Two Efficient Algorithms
 * for Linear Time Suffix Array Construction", 2009), over 32-bit integer alphabets. Linear time; the
 * reduced problem is at most half the size, so recursion depth is at most log2(n) (about 32 levels at
 * the 32-bit limit), far from any stack limit. Scratch memory: the input copy (4 bytes/symbol), one type
 * byte per symbol at each level, and bucket arrays of the alphabet size.
 */

function bucketStarts(cnt: Int32Array, bkt: Int32Array, K: number): void {
  let sum = 0
  for (let i = 0; i < K; i++) {
    bkt[i] = sum
    sum += cnt[i]
  }
}

function bucketEnds(cnt: Int32Array, bkt: Int32Array, K: number): void {
  let sum = 0
  for (let i = 0; i < K; i++) {
    sum += cnt[i]
    bkt[i] = sum
  }
}

// Symbols are stored as (symbol << 1) | type, type 1 for S-type (suffix i smaller than suffix i+1) and 0
// for L-type: the induce passes read a random position's symbol and type with one memory access.
function induce(
  s: Int32Array | Uint16Array,
  SA: Int32Array,
  cnt: Int32Array,
  bkt: Int32Array,
  n: number,
  K: number,
) {
  bucketStarts(cnt, bkt, K)
  for (let i = 0; i < n; i++) {
    const j = SA[i] - 1
    if (j >= 0) {
      const v = s[j]
      if ((v & 1) === 0) SA[bkt[v >>> 1]++] = j
    }
  }
  bucketEnds(cnt, bkt, K)
  for (let i = n - 1; i >= 0; i--) {
    const j = SA[i] - 1
    if (j >= 0) {
      const v = s[j]
      if ((v & 1) === 1) SA[--bkt[v >>> 1]] = j
    }
  }
}

/**
 * Core SA-IS. `s` holds n symbols in [0, K) (K <= 2^30) and ends with a unique smallest sentinel
 * (s[n-1] === 0, no other 0). Fills SA[0..n) with the suffix array of s. Overwrites s.
 */
function saisCore(s: Int32Array | Uint16Array, SA: Int32Array, n: number, K: number): void {
  if (n === 1) {
    SA[0] = 0
    return
  }
  const cnt = new Int32Array(K)
  for (let i = 0; i < n; i++) cnt[s[i]]++
  // Pack the type into the low bit, right to left.
  s[n - 1] = (s[n - 1] << 1) | 1
  for (let i = n - 2; i >= 0; i--) {
    const a = s[i]
    const next = s[i + 1]
    const b = next >>> 1
    s[i] = (a << 1) | (a < b || (a === b && (next & 1) === 1) ? 1 : 0)
  }
  const bkt = new Int32Array(K)

  // Stage 1: sort the LMS substrings by one induced pass.
  bucketEnds(cnt, bkt, K)
  SA.fill(-1, 0, n)
  for (let i = 1; i < n; i++) {
    if ((s[i] & 1) === 1 && (s[i - 1] & 1) === 0) SA[--bkt[s[i] >>> 1]] = i
  }
  induce(s, SA, cnt, bkt, n, K)

  // Gather the sorted LMS positions into SA[0..n1). A bitmap of LMS positions (n/8 bytes, cache-friendly)
  // answers the random "is p an LMS position?" lookups.
  const lms = new Uint8Array((n >>> 3) + 1)
  for (let i = 1; i < n; i++) {
    if ((s[i] & 1) === 1 && (s[i - 1] & 1) === 0) lms[i >>> 3] |= 1 << (i & 7)
  }
  let n1 = 0
  for (let i = 0; i < n; i++) {
    const p = SA[i]
    if (p > 0 && (lms[p >>> 3] & (1 << (p & 7))) !== 0) SA[n1++] = p
  }
  // Name the LMS substrings; equal substrings get equal names. Lengths (up to and including the next LMS
  // position) are stored first in SA[n1 + p/2] (LMS positions are at least two apart, so p/2 is unique),
  // so that two substrings compare by length and then by packed symbols, which carry the types too.
  SA.fill(-1, n1, n)
  let last = n - 1
  for (let i = n - 2; i >= 1; i--) {
    if ((lms[i >>> 3] & (1 << (i & 7))) !== 0) {
      SA[n1 + (i >>> 1)] = last - i + 1
      last = i
    }
  }
  SA[n1 + ((n - 1) >>> 1)] = 1
  let name = 0
  let prev = -1
  let prevLen = 0
  for (let i = 0; i < n1; i++) {
    const pos = SA[i]
    const len = SA[n1 + (pos >>> 1)]
    let diff = true
    if (len === prevLen && prev >= 0) {
      let d = 0
      while (d < len && s[pos + d] === s[prev + d]) d++
      diff = d < len
    }
    if (diff) {
      name++
      prev = pos
      prevLen = len
    }
    SA[n1 + (pos >>> 1)] = name - 1
  }
  for (let i = n - 1, j = n - 1; i >= n1; i--) {
    if (SA[i] >= 0) SA[j--] = SA[i]
  }

  // Stage 2: sort the reduced string (recursively when names repeat).
  const s1 = SA.subarray(n - n1, n)
  const SA1 = SA.subarray(0, n1)
  if (name < n1) saisCore(s1, SA1, n1, name)
  else for (let i = 0; i < n1; i++) SA1[s1[i]] = i

  // Stage 3: induce the full order from the sorted LMS suffixes.
  for (let i = 1, j = 0; i < n; i++) {
    if ((lms[i >>> 3] & (1 << (i & 7))) !== 0) s1[j++] = i
  }
  for (let i = 0; i < n1; i++) SA1[i] = s1[SA1[i]]
  SA.fill(-1, n1, n)
  bucketEnds(cnt, bkt, K)
  for (let i = n1 - 1; i >= 0; i--) {
    const j = SA[i]
    SA[i] = -1
    SA[--bkt[s[j] >>> 1]] = j
  }
  induce(s, SA, cnt, bkt, n, K)
}

/**
 * Suffix array of `text`, whose symbols are integers in [0, alphabetSize). Suffixes compare symbol by
 * symbol; a suffix that is a proper prefix of another sorts first. Returns positions 0..n-1 in order.
 */
export function suffixArray(text: ArrayLike<number>, alphabetSize: number): Uint32Array {
  const n = text.length
  if (n === 0) return new Uint32Array(0)
  if (n >= 0x7fff_fff0 || alphabetSize >= 0x3fff_ffff) throw new RangeError('suffixArray: input too large')
  // Packed symbols take 16 bits while (alphabetSize + 1) * 2 fits, which halves the memory the random
  // reads of the induce passes touch.
  const s = alphabetSize < 0x7fff ? new Uint16Array(n + 1) : new Int32Array(n + 1)
  for (let i = 0; i < n; i++) s[i] = text[i] + 1
  const SA = new Int32Array(n + 1)
  saisCore(s, SA, n + 1, alphabetSize + 1)
  // SA[0] is the sentinel suffix; reuse the buffer without copying.
  return new Uint32Array(SA.buffer, 4, n)
}
