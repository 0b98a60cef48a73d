// Capacity: signed capacity records, their stream protocol, DHT advertisement, discovery and selection.
export * from './capacity-protocol.ts'
export * from './capacity-record.ts'
export * from './constants.ts'
export * from './discovery.ts'
export * from './errors.ts'
export * from './hardware.ts'
export { CapacityRecord as CapacityRecordMessage, CapacityResponse } from './pb/capacity.ts'
