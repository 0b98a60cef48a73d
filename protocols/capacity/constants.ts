// Capacity records and their protocol: ids, bounds, timeouts and timing in one place.
export const CAPACITY_PROTOCOL_PREFIX = 'openledger'
export const CAPACITY_PROTOCOL_NAME = 'capacity'
export const CAPACITY_PROTOCOL_VERSION = '1.0.0'
export const CAPACITY_PROTOCOL = `/${CAPACITY_PROTOCOL_PREFIX}/${CAPACITY_PROTOCOL_NAME}/${CAPACITY_PROTOCOL_VERSION}`

/** The one frame a responder writes: a record of CAPACITY_MAX_MODELS offers fits with room to spare. */
export const CAPACITY_MAX_FRAME_BYTES = 64 * 1024
export const CAPACITY_MAX_MODELS = 256
export const CAPACITY_MAX_GPUS = 16
/** UTF-8 bytes of any string field (peerId, CPU model, GPU name). */
export const CAPACITY_MAX_STRING_BYTES = 128
/** A record may live at most this long after it was issued. */
export const CAPACITY_MAX_LIFETIME_S = 10 * 60
/** Records dated further ahead than this are refused (clock skew). */
export const CAPACITY_MAX_SKEW_MS = 60_000

/** How often a node re-signs its record; each record lives twice as long, so one lost refresh is harmless. */
export const DEFAULT_REFRESH_MS = 60_000
export const LIFETIME_PER_REFRESH = 2

/** Dialing a peer and opening the stream. */
export const DEFAULT_DIAL_TIMEOUT_MS = 5_000
/** A whole fetch: dial, then one frame read. */
export const DEFAULT_FETCH_TIMEOUT_MS = 10_000
/** How long a responder waits for its frame to be taken and the stream closed. */
export const DEFAULT_WRITE_TIMEOUT_MS = 5_000
/** Inbound capacity streams answered at once, all peers together (beyond that: BUSY). */
export const DEFAULT_MAX_CONCURRENT_STREAMS = 32
/** Inbound capacity streams one connection may hold open. */
export const MAX_INBOUND_STREAMS_PER_CONNECTION = 4

/** Records fetched at once during discovery. */
export const DEFAULT_FETCH_CONCURRENCY = 8
/** Providers a discovery stops at. */
export const DEFAULT_PROVIDER_LIMIT = 20
/** Provider records considered per discovery (valid or not), so a flooded key cannot keep us dialing. */
export const MAX_PROVIDERS_CONSIDERED = 200
/** A failing peer is skipped for this long. */
export const DEFAULT_BAN_MS = 60_000
export const DEFAULT_MAX_BANNED_PEERS = 1_024

/** Prefixed to the EIP-712 digest before the libp2p key signs it, so that signature means only this. */
export const CAPACITY_PEER_SIGNATURE_CONTEXT = 'openledger/capacity/peer-signature/1:'
/** The UTF-8 string whose CID is a model's DHT provider key (DESIGN.md, protocols table). */
export const MODEL_KEY_PREFIX = 'openledger:model:'
