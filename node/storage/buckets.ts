// 1-byte bucket prefixes of the repositories. Numbers are never reused: a retired bucket keeps its slot.
export enum Bucket {
  meta = 0x01,
  peerStatus = 0x02,
  // Background jobs of the HTTP API (node/api/jobs.ts), keyed by job id.
  apiJobs = 0x03,
  datanetContributions = 0x10,
  // The receipt mempool (protocols/receipts/mempool.ts) uses three: receipts, by client, by epoch.
  receipts = 0x20,
  receiptsByClient = 0x21,
  receiptsByEpoch = 0x22,
  // 0x30.. consensus and the signing guard
}
