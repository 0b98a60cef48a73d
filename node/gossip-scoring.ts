// gossipsub peer-score parameters for our topics. Without per-topic parameters gossipsub scores no topic,
// so a peer sending REJECTed messages would keep a score of 0 forever. Our topics are low-rate (a status per
// node per interval, a contribution now and then), so the delivery-deficit terms (P3, P3b), which punish
// quiet mesh peers, are off; what counts is invalid messages (P4: -100 x count², decaying with a half-life
// of about 4 minutes) against a small reward for mesh time and first deliveries (capped at +10 overall).
// With the thresholds below a peer stops receiving our gossip after 7 REJECTed messages, cannot publish to
// us after 9 and is graylisted (its RPCs dropped unread) after 13; an honest peer never forwards a message
// that our validators REJECT, since REJECT is reserved for what is invalid on every node.
import type { PeerScoreParams, PeerScoreThresholds } from '@libp2p/gossipsub/score'
import { CONTRIBUTIONS_TOPIC } from '../protocols/datanet/contribution.ts'
import { RECEIPTS_TOPIC } from '../protocols/receipts/receipt-gossip.ts'
import { STATUS_TOPIC } from '../protocols/status/constants.ts'

export const SCORED_TOPICS = [STATUS_TOPIC, CONTRIBUTIONS_TOPIC, RECEIPTS_TOPIC]

/** Half-life of ~230 decay intervals (1 s each): 0.997^230 ≈ 0.5. */
export const INVALID_MESSAGE_DECAY = 0.997
export const INVALID_MESSAGE_WEIGHT = -100

function topicParams() {
  return {
    topicWeight: 1,
    timeInMeshWeight: 0.01,
    timeInMeshQuantum: 1000,
    timeInMeshCap: 600,
    firstMessageDeliveriesWeight: 1,
    firstMessageDeliveriesDecay: 0.9,
    firstMessageDeliveriesCap: 10,
    meshMessageDeliveriesWeight: 0,
    meshMessageDeliveriesDecay: 0.5,
    meshMessageDeliveriesCap: 100,
    meshMessageDeliveriesThreshold: 1,
    meshMessageDeliveriesWindow: 10,
    meshMessageDeliveriesActivation: 5000,
    meshFailurePenaltyWeight: 0,
    meshFailurePenaltyDecay: 0.5,
    invalidMessageDeliveriesWeight: INVALID_MESSAGE_WEIGHT,
    invalidMessageDeliveriesDecay: INVALID_MESSAGE_DECAY,
  }
}

export function gossipScoreParams(topics: string[] = SCORED_TOPICS): Partial<PeerScoreParams> {
  return {
    topics: Object.fromEntries(topics.map((t) => [t, topicParams()])),
    topicScoreCap: 10,
    // Every testnet peer shares 127.0.0.1, so IP colocation must not count against it.
    IPColocationFactorWeight: 0,
    behaviourPenaltyWeight: -10,
    behaviourPenaltyDecay: 0.986,
  }
}

export const GOSSIP_SCORE_THRESHOLDS: Partial<PeerScoreThresholds> = {
  gossipThreshold: -4000,
  publishThreshold: -8000,
  graylistThreshold: -16000,
  acceptPXThreshold: 100,
  opportunisticGraftThreshold: 5,
}
