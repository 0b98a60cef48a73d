// How Datanet content is chunked into UnixFS. Measured by `npm run bench -- replication`: 1 MiB chunks
// with raw leaves replicate 2.3-3.6x faster than Helia's defaults (256 KiB, dag-pb leaves), because each
// block costs a want, a block message, a DHT announcement and a level write whatever its size.
import { fixedSize } from 'ipfs-unixfs-importer/chunker'

export const CHUNK_SIZE = 1024 * 1024

export function unixfsImportOptions() {
  return { rawLeaves: true, chunker: fixedSize({ chunkSize: CHUNK_SIZE }) }
}
