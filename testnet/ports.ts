import { createServer } from 'node:net'

function canBind(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)))
  })
}

/** Finds `count` consecutive free TCP ports on loopback, starting from a random base in [20000, 60000). */
export async function findFreePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * (40_000 - count))
    let ok = true
    for (let p = base; p < base + count && ok; p++) ok = await canBind(p)
    if (ok) return base
  }
  throw new Error(`no range of ${count} free ports found on 127.0.0.1`)
}
