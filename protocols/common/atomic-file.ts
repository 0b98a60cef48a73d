// Crash-safe file replacement: a reader (or the process after a crash) sees either the old contents or the
// new ones, never a mix or a truncated file. The data goes to a temp file in the same directory (rename is
// atomic only within one file system), is fsynced so the bytes are on disk before the name points at them,
// is renamed over the target, and then the directory is fsynced so the rename itself survives a power cut.
import { randomBytes } from 'node:crypto'
import { open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

export interface AtomicWriteOptions {
  /** File mode of the new file (e.g. 0o600 for secrets); applied at creation, before any byte is written. */
  mode?: number
}

/** Temp names start with this so a directory scan (or a cleanup) can tell them from real files. */
export const TEMP_PREFIX = '.tmp-'

/** fsyncs a directory so a rename or create inside it is durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Writes `data` to `path` atomically and durably (temp file, fsync, rename, fsync of the directory). */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const dir = dirname(path)
  const tmp = join(dir, `${TEMP_PREFIX}${basename(path)}-${randomBytes(6).toString('hex')}`)
  const mode = opts.mode ?? 0o644
  // 'wx': never follow or reuse an existing file at the temp name.
  const handle = await open(tmp, 'wx', mode)
  try {
    try {
      await handle.chmod(mode) // the umask may have cleared bits of `mode`; a secret must be exactly 0600
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
  await fsyncDir(dir)
}
