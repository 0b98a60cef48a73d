// Crash-safe file replacement: a reader (or the process after a crash) sees either the old contents or the
// new ones, never a mix or a truncated file. The data goes to a temp file in the same directory (rename is
// atomic only within one file system), is fsynced so the bytes are on disk before the name points at them,
// is renamed over the target, and then the directory is fsynced so the rename itself survives a power cut.
// (npm's write-file-atomic fsyncs the file but not the directory, and cannot stream a large file.)
import { randomBytes } from 'node:crypto'
import { type FileHandle, link, open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

export interface AtomicWriteOptions {
  /** File mode of the new file (e.g. 0o600 for secrets); set before any byte is written. Default 0o644. */
  mode?: number
  /** Create only: fail with EEXIST (leaving the existing file alone) instead of replacing it. */
  exclusive?: boolean
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

/**
 * Writes `path` atomically and durably: `write` fills a temp file beside it, which is fsynced, renamed over
 * `path` (or, with `exclusive`, hard-linked to it, which fails if `path` exists), and the directory fsynced.
 * On any failure the temp file is removed and `path` is untouched.
 */
export async function writeAtomic(
  path: string,
  write: (handle: FileHandle) => Promise<void>,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const dir = dirname(path)
  const tmp = join(dir, `${TEMP_PREFIX}${basename(path)}-${randomBytes(6).toString('hex')}`)
  const mode = opts.mode ?? 0o644
  // 'wx': never follow or reuse something already at the temp name.
  const handle = await open(tmp, 'wx', mode)
  try {
    try {
      await handle.chmod(mode) // the umask may have cleared bits of `mode`; make it exactly `mode`
      await write(handle)
      await handle.sync()
    } finally {
      await handle.close()
    }
    if (opts.exclusive) await link(tmp, path)
    else await rename(tmp, path)
  } finally {
    // After a rename this is a no-op; after a link or a failure it drops the temp name.
    await rm(tmp, { force: true })
  }
  await fsyncDir(dir)
}

/** writeAtomic for data already in memory. */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  await writeAtomic(path, (handle) => handle.writeFile(data), opts)
}
