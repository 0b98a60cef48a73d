// Status gossip: topic, limits and timing in one place.
export const STATUS_TOPIC = 'openledger/status/1'
export const STATUS_MAX_BYTES = 1024
/** Statuses dated further ahead than this are ignored (clock skew). */
export const STATUS_MAX_SKEW_MS = 60_000
/** Statuses older than this are stale: ignored on gossip and evicted from the map of known peers. */
export const STATUS_MAX_AGE_MS = 10 * 60_000
/** The map of known statuses never holds more than this many PeerIds (the least recently updated go). */
export const STATUS_MAX_PEERS = 1_000
/** How often stale statuses are evicted when nothing new arrives. */
export const STATUS_PRUNE_INTERVAL_MS = 60_000
export const STATUS_VERSION_MAX_LENGTH = 64
export const STATUS_API_URL_MAX_LENGTH = 256
export const STATUS_PEER_ID_MAX_LENGTH = 128
/** Prefixed to the EIP-712 digest before the libp2p key signs it, so that signature means only this. */
export const PEER_SIGNATURE_CONTEXT = 'openledger/status/peer-signature/1:'
