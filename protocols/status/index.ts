// Node status gossip: the service, its wire format, signing and validation.
export * from './constants.ts'
export { NodeStatus } from './pb/status.ts'
export { type PeerStatus, StatusService, type StatusServiceInit } from './service.ts'
export {
  nodeStatusTypes,
  peerSignaturePayload,
  type SignStatusInit,
  signStatus,
  statusHasher,
} from './signing.ts'
export { type StatusValidationContext, validateStatus } from './validation.ts'
