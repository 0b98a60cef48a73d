// Seeded PRNG (xoshiro128**, seeded through splitmix32) so that initialisation, batch sampling and
// token sampling are the same bits on every machine for a given seed. Math.random is never used.
export class Prng {
  private s0: number
  private s1: number
  private s2: number
  private s3: number
  private spareGaussian: number | undefined

  constructor(seed: number) {
    let x = seed >>> 0
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0
      let z = x
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
      return (z ^ (z >>> 16)) >>> 0
    }
    this.s0 = next()
    this.s1 = next()
    this.s2 = next()
    this.s3 = next()
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0
    const t = (this.s1 << 9) >>> 0
    this.s2 ^= this.s0
    this.s3 ^= this.s1
    this.s1 ^= this.s2
    this.s0 ^= this.s3
    this.s2 ^= t
    this.s3 = rotl(this.s3, 11)
    this.s0 >>>= 0
    this.s1 >>>= 0
    this.s2 >>>= 0
    this.s3 >>>= 0
    return result
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  nextFloat(): number {
    return this.nextU32() / 4294967296
  }

  /** Uniform integer in [0, n). */
  nextInt(n: number): number {
    return Math.floor(this.nextFloat() * n)
  }

  /** Standard normal (Box-Muller). */
  nextGaussian(): number {
    if (this.spareGaussian !== undefined) {
      const g = this.spareGaussian
      this.spareGaussian = undefined
      return g
    }
    const u = 1 - this.nextFloat()
    const v = this.nextFloat()
    const r = Math.sqrt(-2 * Math.log(u))
    this.spareGaussian = r * Math.sin(2 * Math.PI * v)
    return r * Math.cos(2 * Math.PI * v)
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}
