// The corpora that tests, benches and the demo use, carried inside the repository with their licences
// (see README.md here), so a clone with nothing beside it runs everything.
import { fileURLToPath } from 'node:url'

export const CORPORA_DIR = fileURLToPath(new URL('.', import.meta.url))
/** ~40,000 lines of Shakespeare's plays, one file (public domain). */
export const SHAKESPEARE_FILE = fileURLToPath(new URL('tinyshakespeare/input.txt', import.meta.url))
/** "The Rust Programming Language", one Markdown file per section (MIT or Apache-2.0). */
export const RUST_BOOK_DIR = fileURLToPath(new URL('rust-book/src/', import.meta.url))
