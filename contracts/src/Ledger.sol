// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IEpochClock, IStaking, Validator} from "./IStaking.sol";

/// @title The Ledger: client deposits, validator checkpoints of the off-chain ledger, reward claims.
/// @notice Validators recompute the ledger (cumulative earned and spent per account) every epoch and sign
/// its root as EIP-712 `Checkpoint` typed data. This contract accepts a checkpoint signed by more than 2/3
/// of the stake of the set fixed for that epoch, then pays each account `earned - claimed` against a
/// Merkle proof of its leaf in any of the last `ROOT_HISTORY` roots. A leaf names the account's ledger
/// index (assigned once, when the account first appears, never reused): claimed amounts are kept in gwei,
/// four to a storage word by index, so a batch of claims by neighbouring indexes shares its writes the way
/// Uniswap's MerkleDistributor shares a bitmap word (a leaf's last sub-gwei wei is never paid).
///
/// What it promises, whatever a quorum signs:
///  - a client's settled spending only grows and never exceeds what the client holds (an overdrawn
///    client's spending is capped, never reverts the checkpoint);
///  - a checkpoint's `totalEarned` (what its leaves can pay in all) never exceeds settled spending, so
///    client deposits that were not spent stay covered;
///  - an amount a client asked to withdraw stops being spendable at once, and leaves only after the
///    withdrawal delay (longer than the authorization window plus one epoch) and a later checkpoint;
///  - if no checkpoint lands for `escapeDelay`, requested withdrawals pay out without waiting;
///  - the validator set and the fee split of an epoch are fixed before it starts, and the vote commits
///    to both, so no stake change or governance act can invalidate votes in flight.
contract Ledger is EIP712, Ownable, ReentrancyGuardTransient, IEpochClock {
    using SafeERC20 for IERC20;

    /// @notice A client's cumulative spending after this checkpoint.
    struct Spend {
        address client;
        uint128 spent;
    }

    /// @notice Shares of every fee, in basis points; they sum to 10,000. Consensus reads them from here.
    struct FeeSplit {
        uint16 node;
        uint16 modelOwner;
        uint16 adapterOwner;
        uint16 contributors;
        uint16 validators;
        uint16 treasury;
    }

    /// @notice What validators sign (EIP-712 primary type `Checkpoint`).
    struct Checkpoint {
        uint64 epoch;
        uint32 round;
        bytes32 parentRoot;
        bytes32 stateRoot;
        bytes32 receiptsRoot;
        string receiptsCid; // the receipt batch in IPFS, so any node learns what the root covers
        bytes32 validatorSetHash; // the set fixed for this epoch (Staking.setHashFor)
        FeeSplit feeSplit; // the split fixed for this epoch (feeSplitFor)
        uint128 totalEarned; // sum of `earned` over every leaf of `stateRoot`
        Spend[] totals; // sorted by client address, only clients whose spending changed
    }

    /// @notice A vote's signature in EIP-2098 compact form, plus the position of its signer in the set, so
    /// matching a signer to its stake is one calldata read instead of a search or an external call.
    struct Signature {
        uint256 index;
        bytes32 r;
        bytes32 vs;
    }

    struct CompactSignature {
        bytes32 r;
        bytes32 vs;
    }

    /// @notice One leaf to pay in `claimMany`: its proof leads to `top[topIndex]`, not to the root.
    struct Claim {
        address account;
        uint256 index;
        uint256 earned;
        uint256 spent;
        uint256 topIndex;
        bytes32[] proof;
    }

    /// @notice One epoch of evidence for `jailInactive`: which of the given sets signed it (`set`), the
    /// record's bitmap and digest, and where the validator sits in that set.
    struct Participation {
        uint256 set;
        uint256 signedBitmap;
        bytes32 digest;
        uint256 index;
    }

    struct Client {
        uint128 funded; // deposits minus executed withdrawals
        uint128 spent; // cumulative spending settled by checkpoints
        uint128 reserved; // requested for withdrawal: no longer spendable
        uint64 unlockAt; // the reserved amount may leave once a checkpoint has landed at or after this time
    }

    /// @notice Governed timing, in seconds (`inactivityWindow` in checkpoints).
    struct Params {
        uint32 authorizationWindow; // the furthest a payment authorization's deadline may lie ahead
        uint32 epochDuration; // the consensus epoch clock's target
        uint32 withdrawalDelay; // > authorizationWindow + epochDuration
        uint32 escapeDelay; // no checkpoint for this long opens the escape hatch
        uint16 inactivityWindow; // a validator signing none of this many checkpoints can be jailed
    }

    /// @notice Claims verify against the roots of the last this-many checkpoints.
    uint64 public constant ROOT_HISTORY = 16;
    /// @notice Claimed amounts are counted in this unit (uint64 of them: 1.8e10 OPEN, above the supply).
    uint256 public constant CLAIM_UNIT = 1 gwei;
    uint64 public constant MAX_INACTIVITY_WINDOW = 64;
    // Parameter bounds (governance included).
    uint32 public constant MIN_AUTHORIZATION_WINDOW = 60;
    uint32 public constant MAX_AUTHORIZATION_WINDOW = 1 days;
    uint32 public constant MIN_EPOCH_DURATION = 10;
    uint32 public constant MAX_EPOCH_DURATION = 1 days;
    uint32 public constant MAX_WITHDRAWAL_DELAY = 30 days;
    uint32 public constant MIN_ESCAPE_DELAY = 1 days;
    uint32 public constant MAX_ESCAPE_DELAY = 90 days;
    uint16 public constant MIN_INACTIVITY_WINDOW = 4;

    bytes32 public constant SPEND_TYPEHASH = keccak256("Spend(address client,uint128 spent)");
    bytes32 public constant FEE_SPLIT_TYPEHASH = keccak256(
        "FeeSplit(uint16 node,uint16 modelOwner,uint16 adapterOwner,uint16 contributors,uint16 validators,uint16 treasury)"
    );
    bytes32 public constant CHECKPOINT_TYPEHASH = keccak256(
        "Checkpoint(uint64 epoch,uint32 round,bytes32 parentRoot,bytes32 stateRoot,bytes32 receiptsRoot,string receiptsCid,bytes32 validatorSetHash,FeeSplit feeSplit,uint128 totalEarned,Spend[] totals)FeeSplit(uint16 node,uint16 modelOwner,uint16 adapterOwner,uint16 contributors,uint16 validators,uint16 treasury)Spend(address client,uint128 spent)"
    );

    // checkpoints
    error UnexpectedEpoch(uint64 expected, uint64 got);
    error WrongParent(bytes32 expected, bytes32 got);
    error ValidatorSetMismatch(bytes32 expected, bytes32 got);
    error FeeSplitMismatch();
    error SignerNotInSet(uint256 position);
    error DuplicateSigner(address signer);
    error UnsortedSigners(uint256 position);
    error InsufficientQuorum(uint256 signedStake, uint256 totalStake);
    error UnsortedTotals(uint256 position);
    error SpentDecreased(address client, uint128 settled, uint128 claimed);
    error EarningsExceedSpending(uint256 totalEarned, uint256 totalSpent);
    // claims
    error UnknownRoot(uint64 epoch);
    error InvalidProof(address account);
    error InvalidTop(uint256 length);
    error NothingToClaim(uint256 earned, uint256 alreadyClaimed);
    error EarnedTooLarge(uint256 earned);
    // deposits and withdrawals
    error ZeroAmount();
    error InsufficientAvailable(uint256 requested, uint256 available);
    error NoPendingWithdrawal();
    error WithdrawalLocked(uint64 unlockAt);
    error AwaitingCheckpoint(uint64 unlockAt);
    // slashing and jailing
    error NotSameEpochRound();
    error VotesNotConflicting();
    error InvalidSignature();
    error SignersDiffer(address first, address second);
    error UnknownSigner(address signer);
    error AlreadySlashed(address signer, uint64 epoch, uint32 round);
    error InactivityNotProven(uint256 position);
    error UnknownParticipation(uint64 epoch);
    // governance
    error InvalidFeeSplit();
    error InvalidParameter(string name);

    event Deposited(address indexed client, uint256 amount);
    event WithdrawalRequested(address indexed client, uint256 amount, uint64 unlockAt);
    event Withdrawn(address indexed client, uint256 amount);
    event Checkpointed(
        uint64 indexed epoch,
        uint32 round,
        bytes32 stateRoot,
        bytes32 receiptsRoot,
        string receiptsCid,
        bytes32 validatorSetHash,
        uint256 signedBitmap,
        bytes32 digest,
        uint256 spentAdded
    );
    event SignaturesAdded(uint64 indexed epoch, uint256 signedBitmap);
    event SpendingCapped(address indexed client, uint128 signed, uint128 capped);
    event Claimed(address indexed account, uint256 amount);
    event ClaimedMany(uint64 indexed epoch, uint256 paidLeaves, uint256 total);
    event EquivocationSlashed(address indexed staker, address indexed signer, uint64 epoch, uint32 round, uint256 burned);
    event InactiveJailed(address indexed staker, uint64 lastEpoch);
    event FeeSplitScheduled(FeeSplit split, uint64 fromEpoch);
    event ParamsChanged(Params params);

    IERC20 public immutable token;
    IStaking public immutable staking;

    // One slot: what a checkpoint reads and writes.
    uint64 public lastEpoch;
    uint64 public lastCheckpointAt;
    uint128 public totalSpent; // settled client spending: the most all roots' leaves can pay
    Params public params;
    FeeSplit private _feeSplit;
    FeeSplit private _nextFeeSplit;
    uint64 private _nextFeeSplitFrom;
    uint64 private _unlockFloor; // after a parameter change: no withdrawal unlocks before the old window ends

    mapping(uint64 epoch => bytes32) public rootOf; // the last ROOT_HISTORY epochs only
    mapping(uint64 epoch => bytes32) public participationOf; // keccak256(abi.encode(setHash, signedBitmap, digest))
    mapping(address client => Client) private _clients;
    mapping(uint256 word => uint256) private _claimedWords; // 4 x uint64 gwei, by ledger index
    mapping(bytes32 signerEpochRound => bool) public slashedFor;

    constructor(IERC20 token_, IStaking staking_, address owner_, FeeSplit memory split, Params memory params_)
        EIP712("OpenLedger", "1")
        Ownable(owner_)
    {
        token = token_;
        staking = staking_;
        _checkFeeSplit(split);
        _feeSplit = split;
        _setParams(params_);
        lastCheckpointAt = uint64(block.timestamp);
    }

    // ---------------------------------------------------------------- client funds

    function deposit(uint128 amount) external nonReentrant {
        _deposit(amount);
    }

    /// @notice Deposit with an EIP-2612 permit instead of a prior approve. A front-run permit (same
    /// signature used first by someone else) is ignored: the allowance it set is what we need anyway.
    function depositWithPermit(uint128 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external nonReentrant {
        try IERC20Permit(address(token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        _deposit(amount);
    }

    /// @notice Reserves `amount` of the available balance for withdrawal: from now on nodes must not
    /// accept payments against it. It can leave once a checkpoint has landed at or after `unlockAt` = now +
    /// `withdrawalDelay` (longer than any authorization signed before this call can stay valid, plus an
    /// epoch to checkpoint it): a checkpoint that lands early, before the receipts it should carry, does
    /// not count. A new request adds to the reservation and restarts the clock.
    function requestWithdrawal(uint128 amount) external {
        if (amount == 0) revert ZeroAmount();
        Client storage c = _clients[msg.sender];
        uint256 available = _available(c);
        if (amount > available) revert InsufficientAvailable(amount, available);
        c.reserved += amount;
        uint64 unlockAt = uint64(block.timestamp) + params.withdrawalDelay;
        c.unlockAt = unlockAt > _unlockFloor ? unlockAt : _unlockFloor;
        emit WithdrawalRequested(msg.sender, amount, c.unlockAt);
    }

    /// @notice Pays the reserved amount, less whatever receipts signed before the request settled into it.
    function executeWithdrawal() external nonReentrant returns (uint256 paid) {
        Client storage c = _clients[msg.sender];
        if (c.reserved == 0) revert NoPendingWithdrawal();
        if (!escapeOpen()) {
            if (block.timestamp < c.unlockAt) revert WithdrawalLocked(c.unlockAt);
            if (lastCheckpointAt < c.unlockAt) revert AwaitingCheckpoint(c.unlockAt);
        }
        uint256 unspent = c.funded - c.spent;
        paid = c.reserved < unspent ? c.reserved : unspent;
        c.reserved = 0;
        c.funded -= uint128(paid);
        token.safeTransfer(msg.sender, paid);
        emit Withdrawn(msg.sender, paid);
    }

    // ---------------------------------------------------------------- checkpoints

    /// @notice Records the ledger root of epoch `lastEpoch + 1`.
    /// @param validators the set fixed for this epoch (its hash is `cp.validatorSetHash`), in commit order.
    /// Passing it in calldata and checking one hash costs ~600 gas per validator, where reading each
    /// signer's stake from Staking would cost an external call and cold reads per signer.
    /// @param signatures sorted by strictly increasing signer address, which rejects duplicates in the same
    /// pass (Polygon's StakeManager.checkSignatures does the same).
    function checkpoint(Checkpoint calldata cp, Validator[] calldata validators, Signature[] calldata signatures)
        external
    {
        uint64 epoch = lastEpoch + 1;
        if (cp.epoch != epoch) revert UnexpectedEpoch(epoch, cp.epoch);
        bytes32 parent = rootOf[epoch - 1];
        if (cp.parentRoot != parent) revert WrongParent(parent, cp.parentRoot);
        bytes32 setHash = staking.setHashFor(epoch);
        if (cp.validatorSetHash != setHash) revert ValidatorSetMismatch(setHash, cp.validatorSetHash);
        if (_feeSplitHash(cp.feeSplit) != _feeSplitHash(feeSplitFor(epoch))) revert FeeSplitMismatch();
        bytes32 digest = _hashTypedDataV4(_hashCheckpoint(cp));
        uint256 bitmap = _verifyQuorum(digest, setHash, validators, signatures);

        uint256 spentAdded = _settle(cp.totals);
        {
            uint256 newTotal = totalSpent + spentAdded;
            if (cp.totalEarned > newTotal) revert EarningsExceedSpending(cp.totalEarned, newTotal);
            totalSpent = uint128(newTotal);
        }
        rootOf[epoch] = cp.stateRoot;
        if (epoch > ROOT_HISTORY) delete rootOf[epoch - ROOT_HISTORY];
        participationOf[epoch] = keccak256(abi.encode(setHash, bitmap, digest));
        if (epoch > MAX_INACTIVITY_WINDOW) delete participationOf[epoch - MAX_INACTIVITY_WINDOW];
        lastEpoch = epoch;
        lastCheckpointAt = uint64(block.timestamp);
        if (_nextFeeSplitFrom != 0 && _nextFeeSplitFrom <= epoch + 1) _promoteFeeSplit();
        _emitCheckpointed(cp, setHash, bitmap, digest, spentAdded);
    }

    /// @dev Separate so `checkpoint` stays within the stack.
    function _emitCheckpointed(
        Checkpoint calldata cp,
        bytes32 setHash,
        uint256 bitmap,
        bytes32 digest,
        uint256 spentAdded
    ) private {
        emit Checkpointed(
            cp.epoch, cp.round, cp.stateRoot, cp.receiptsRoot, cp.receiptsCid, setHash, bitmap, digest, spentAdded
        );
    }

    // ---------------------------------------------------------------- claims

    /// @notice Pays `account` (the one named in the leaf: anyone may relay) what it earned beyond what it
    /// claimed, where `earned` and `spent` are its cumulative figures in the root of `epoch`, one of the last
    /// `ROOT_HISTORY` checkpoints. Cumulative accounting keeps old roots safe: a later claim pays only what
    /// was earned since, and a claim against an older root than one already used pays nothing.
    /// @dev No reentrancy guard: the token is the immutable OPEN (OpenZeppelin ERC-20, no transfer hooks),
    /// and the claimed amount is written before the transfer.
    function claimFor(
        address account,
        uint256 index,
        uint64 epoch,
        uint256 earned,
        uint256 spent,
        bytes32[] calldata proof
    ) external returns (uint256 amount) {
        bytes32 root = rootOf[epoch];
        if (root == bytes32(0)) revert UnknownRoot(epoch);
        if (!MerkleProof.verifyCalldata(proof, root, _leaf(account, index, earned, spent))) revert InvalidProof(account);
        amount = _recordClaim(index, earned);
        if (amount == 0) revert NothingToClaim(earned, claimedOf(index));
        token.safeTransfer(account, amount);
        emit Claimed(account, amount);
    }

    /// @notice Pays many leaves of one root in one transaction (a relayer's batch). The batch sends the
    /// tree's nodes `log2(top.length)` levels below the root once (`top`, a power of two of them, checked
    /// against the root here); each leaf's proof then stops at its ancestor `top[topIndex]`, so the levels
    /// every claim shares are neither sent nor hashed per claim (`top = [root]` makes them full proofs).
    /// Leaves whose indexes share a storage word share its write. A leaf with nothing left to claim is
    /// skipped rather than failing the batch; an invalid proof fails it. Each payment is its OPEN
    /// `Transfer` event; the batch emits one `ClaimedMany`.
    /// @dev Sound because sorted-pair hashing lets only the true children of a node hash to it: the
    /// checked `top` are the tree's nodes at that depth (siblings possibly swapped), and a 128-byte leaf
    /// preimage can never pass for a 64-byte inner node. In OpenZeppelin's layout every leaf lies at least
    /// `log2(top.length)` levels deep whenever `top.length` ≤ the leaf count. (OpenZeppelin's multiproof was
    /// measured here too: its `bool[]` flags, 32 calldata bytes each, cost more than it saved.)
    function claimMany(uint64 epoch, bytes32[] calldata top, Claim[] calldata claims) external returns (uint256 total) {
        bytes32 root = rootOf[epoch];
        if (root == bytes32(0)) revert UnknownRoot(epoch);
        if (_rootOfLevel(top) != root) revert InvalidTop(top.length);
        uint256 paidLeaves;
        for (uint256 i; i < claims.length; ++i) {
            Claim calldata c = claims[i];
            bytes32 reached = MerkleProof.processProofCalldata(c.proof, _leaf(c.account, c.index, c.earned, c.spent));
            if (c.topIndex >= top.length || reached != top[c.topIndex]) revert InvalidProof(c.account);
            uint256 amount = _recordClaim(c.index, c.earned);
            if (amount == 0) continue;
            unchecked {
                total += amount;
                ++paidLeaves;
            }
            token.safeTransfer(c.account, amount);
        }
        emit ClaimedMany(epoch, paidLeaves, total);
    }

    /// @notice What the account at ledger `index` has claimed, in wei.
    function claimedOf(uint256 index) public view returns (uint256) {
        return ((_claimedWords[index >> 2] >> ((index & 3) << 6)) & type(uint64).max) * CLAIM_UNIT;
    }

    // ---------------------------------------------------------------- slashing and jailing

    /// @notice Anyone may submit two checkpoint votes by one signer for the same (epoch, round) that differ:
    /// an honest validator never signs two (its signing guard records the vote before signing).
    function slashEquivocation(
        Checkpoint calldata a,
        CompactSignature calldata sigA,
        Checkpoint calldata b,
        CompactSignature calldata sigB
    ) external returns (uint256 burned) {
        if (a.epoch != b.epoch || a.round != b.round) revert NotSameEpochRound();
        bytes32 digestA = _hashTypedDataV4(_hashCheckpoint(a));
        bytes32 digestB = _hashTypedDataV4(_hashCheckpoint(b));
        if (digestA == digestB) revert VotesNotConflicting();
        address signer = _recover(digestA, sigA);
        address signerB = _recover(digestB, sigB);
        if (signer != signerB) revert SignersDiffer(signer, signerB);
        address staker = staking.stakerOf(signer);
        if (staker == address(0)) revert UnknownSigner(signer);
        bytes32 key = keccak256(abi.encode(signer, a.epoch, a.round));
        if (slashedFor[key]) revert AlreadySlashed(signer, a.epoch, a.round);
        slashedFor[key] = true;
        burned = staking.slash(staker);
        emit EquivocationSlashed(staker, signer, a.epoch, a.round, burned);
    }

    /// @notice Adds votes that a checkpoint's submitter left out (it needed only a quorum) to the epoch's
    /// participation record, so a validator that did sign cannot be jailed for inactivity by whoever relays
    /// checkpoints. Anyone may send them while the record is kept (the last `MAX_INACTIVITY_WINDOW`
    /// epochs): the epoch's set, its current record (`Checkpointed`, then `SignaturesAdded` events), and
    /// signatures of that checkpoint's digest.
    function addSignatures(
        uint64 epoch,
        Validator[] calldata validators,
        uint256 signedBitmap,
        bytes32 digest,
        Signature[] calldata signatures
    ) external {
        bytes32 setHash = keccak256(abi.encode(validators));
        bytes32 record = participationOf[epoch];
        if (record == bytes32(0) || keccak256(abi.encode(setHash, signedBitmap, digest)) != record) {
            revert UnknownParticipation(epoch);
        }
        uint256 bitmap = signedBitmap;
        for (uint256 i; i < signatures.length; ++i) {
            Signature calldata sig = signatures[i];
            if (sig.index >= validators.length) revert SignerNotInSet(i);
            (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, sig.r, sig.vs);
            if (err != ECDSA.RecoverError.NoError || signer != validators[sig.index].signer) revert SignerNotInSet(i);
            bitmap |= 1 << sig.index;
        }
        participationOf[epoch] = keccak256(abi.encode(setHash, bitmap, digest));
        emit SignaturesAdded(epoch, bitmap);
    }

    /// @notice Anyone may show that `staker` was in the set of each of the last `inactivityWindow`
    /// checkpoints and signed none: it leaves the set (its stake unbonds; it may register again).
    /// @param sets the distinct validator sets of those epochs (each sent once: sets rarely change)
    /// @param recent one entry per epoch, newest (`lastEpoch`) first; each is checked against the
    /// participation record the checkpoint stored (with any signatures added since).
    function jailInactive(address staker, Validator[][] calldata sets, Participation[] calldata recent) external {
        uint64 window = params.inactivityWindow;
        uint64 last = lastEpoch;
        if (last < window || recent.length != window) revert InactivityNotProven(recent.length);
        bytes32[] memory setHashes = new bytes32[](sets.length);
        for (uint256 i; i < sets.length; ++i) {
            setHashes[i] = keccak256(abi.encode(sets[i]));
        }
        for (uint256 k; k < window; ++k) {
            Participation calldata p = recent[k];
            if (p.set >= sets.length) revert InactivityNotProven(k);
            bytes32 record = keccak256(abi.encode(setHashes[p.set], p.signedBitmap, p.digest));
            if (record != participationOf[last - uint64(k)]) revert InactivityNotProven(k);
            Validator[] calldata validators = sets[p.set];
            if (p.index >= validators.length || staking.stakerOf(validators[p.index].signer) != staker) {
                revert InactivityNotProven(k);
            }
            if ((p.signedBitmap >> p.index) & 1 != 0) revert InactivityNotProven(k);
        }
        staking.jail(staker);
        emit InactiveJailed(staker, last);
    }

    // ---------------------------------------------------------------- governance (Timelock)

    /// @notice Schedules a new fee split for the epoch after next, so the epoch being voted on keeps the
    /// split its validators computed with.
    function setFeeSplit(FeeSplit calldata split) external onlyOwner {
        _checkFeeSplit(split);
        if (_nextFeeSplitFrom != 0 && _nextFeeSplitFrom <= lastEpoch + 1) _promoteFeeSplit();
        _nextFeeSplit = split;
        _nextFeeSplitFrom = lastEpoch + 2;
        emit FeeSplitScheduled(split, lastEpoch + 2);
    }

    function setParams(Params calldata params_) external onlyOwner {
        _setParams(params_);
    }

    // ---------------------------------------------------------------- reads

    /// @notice The fee split validators use for `epoch`.
    function feeSplitFor(uint64 epoch) public view returns (FeeSplit memory) {
        if (_nextFeeSplitFrom != 0 && epoch >= _nextFeeSplitFrom) return _nextFeeSplit;
        return _feeSplit;
    }

    /// @notice The latest checkpointed root (bytes32(0) before the first checkpoint).
    function stateRoot() external view returns (bytes32) {
        return rootOf[lastEpoch];
    }

    /// @notice True once no checkpoint has landed for `escapeDelay`: withdrawals then skip their wait.
    function escapeOpen() public view returns (bool) {
        return block.timestamp > uint256(lastCheckpointAt) + params.escapeDelay;
    }

    /// @notice What nodes and validators check before accepting a payment: `available` = funded − settled
    /// spending − reserved for withdrawal (receipts not yet checkpointed must be subtracted off chain).
    function clientBalance(address client)
        external
        view
        returns (uint128 funded, uint128 spent, uint128 reserved, uint256 available, uint64 unlockAt)
    {
        Client storage c = _clients[client];
        return (c.funded, c.spent, c.reserved, _available(c), c.unlockAt);
    }

    /// @notice The EIP-712 digest validators sign for `cp`; for clients and tests.
    function checkpointDigest(Checkpoint calldata cp) external view returns (bytes32) {
        return _hashTypedDataV4(_hashCheckpoint(cp));
    }

    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---------------------------------------------------------------- internals

    function _deposit(uint128 amount) private {
        if (amount == 0) revert ZeroAmount();
        token.safeTransferFrom(msg.sender, address(this), amount);
        _clients[msg.sender].funded += amount;
        emit Deposited(msg.sender, amount);
    }

    function _available(Client storage c) private view returns (uint256) {
        uint256 used = uint256(c.spent) + c.reserved;
        return c.funded > used ? c.funded - used : 0;
    }

    function _leaf(address account, uint256 index, uint256 earned, uint256 spent)
        private
        pure
        returns (bytes32 leaf)
    {
        // keccak256(abi.encode(account, index, earned, spent)) without a memory allocation.
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, account)
            mstore(add(p, 0x20), index)
            mstore(add(p, 0x40), earned)
            mstore(add(p, 0x60), spent)
            leaf := keccak256(p, 0x80)
        }
    }

    /// @dev The root above one complete level of nodes (pairs hashed in order, sorted within each pair).
    function _rootOfLevel(bytes32[] calldata level) private pure returns (bytes32) {
        uint256 n = level.length;
        if (n == 0 || n & (n - 1) != 0 || n > 1024) revert InvalidTop(n);
        bytes32[] memory nodes = level;
        while (n > 1) {
            n >>= 1;
            for (uint256 i; i < n; ++i) {
                nodes[i] = Hashes.commutativeKeccak256(nodes[2 * i], nodes[2 * i + 1]);
            }
        }
        return nodes[0];
    }

    /// @dev Raises the claimed amount at `index` to `earned` (in whole CLAIM_UNITs) and returns the wei to
    /// pay, 0 if nothing is new.
    function _recordClaim(uint256 index, uint256 earned) private returns (uint256) {
        uint256 units = earned / CLAIM_UNIT;
        if (units > type(uint64).max) revert EarnedTooLarge(earned);
        uint256 word = _claimedWords[index >> 2];
        uint256 shift = (index & 3) << 6;
        uint256 already = (word >> shift) & type(uint64).max;
        if (units <= already) return 0;
        _claimedWords[index >> 2] = (word & ~(uint256(type(uint64).max) << shift)) | (units << shift);
        unchecked {
            return (units - already) * CLAIM_UNIT;
        }
    }

    function _feeSplitHash(FeeSplit memory s) private pure returns (bytes32) {
        return keccak256(
            abi.encode(FEE_SPLIT_TYPEHASH, s.node, s.modelOwner, s.adapterOwner, s.contributors, s.validators, s.treasury)
        );
    }

    function _hashCheckpoint(Checkpoint calldata cp) private pure returns (bytes32) {
        Spend[] calldata totals = cp.totals;
        bytes32[] memory spendHashes = new bytes32[](totals.length);
        for (uint256 i; i < totals.length; ++i) {
            spendHashes[i] = keccak256(abi.encode(SPEND_TYPEHASH, totals[i].client, totals[i].spent));
        }
        bytes memory head = abi.encode(
            CHECKPOINT_TYPEHASH, cp.epoch, cp.round, cp.parentRoot, cp.stateRoot, cp.receiptsRoot
        );
        return keccak256(
            abi.encodePacked(
                head,
                keccak256(bytes(cp.receiptsCid)),
                cp.validatorSetHash,
                _feeSplitHash(cp.feeSplit),
                uint256(cp.totalEarned),
                keccak256(abi.encodePacked(spendHashes))
            )
        );
    }

    /// @dev Per signature: one calldata index, one ecrecover, one comparison, one bit. Nothing per signer
    /// touches storage. Returns the bitmap of signers' positions (the set is at most 256).
    function _verifyQuorum(
        bytes32 digest,
        bytes32 setHash,
        Validator[] calldata validators,
        Signature[] calldata signatures
    ) private pure returns (uint256 bitmap) {
        if (keccak256(abi.encode(validators)) != setHash) revert ValidatorSetMismatch(setHash, keccak256(abi.encode(validators)));
        uint256 totalStake;
        for (uint256 i; i < validators.length; ++i) {
            totalStake += validators[i].stake;
        }
        uint256 signedStake;
        address previous;
        for (uint256 i; i < signatures.length; ++i) {
            Signature calldata s = signatures[i];
            if (s.index >= validators.length) revert SignerNotInSet(i);
            (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, s.r, s.vs);
            if (err != ECDSA.RecoverError.NoError || signer != validators[s.index].signer) revert SignerNotInSet(i);
            if (signer <= previous) {
                if (signer == previous) revert DuplicateSigner(signer);
                revert UnsortedSigners(i);
            }
            previous = signer;
            signedStake += validators[s.index].stake;
            bitmap |= 1 << s.index;
        }
        if (signedStake * 3 <= totalStake * 2) revert InsufficientQuorum(signedStake, totalStake);
    }

    /// @dev Applies each listed client's new cumulative spending, capped at what the client holds, so one
    /// overdrawn client never reverts a checkpoint. Validators apply the same cap (they read `funded` at the
    /// snapshot block), so the root they sign matches.
    function _settle(Spend[] calldata totals) private returns (uint256 spentAdded) {
        address previous;
        for (uint256 i; i < totals.length; ++i) {
            Spend calldata t = totals[i];
            if (t.client <= previous) revert UnsortedTotals(i);
            previous = t.client;
            Client storage c = _clients[t.client];
            uint128 settled = c.spent;
            if (t.spent < settled) revert SpentDecreased(t.client, settled, t.spent);
            uint128 spent = t.spent;
            if (spent > c.funded) {
                spent = c.funded;
                emit SpendingCapped(t.client, t.spent, spent);
            }
            c.spent = spent;
            spentAdded += spent - settled;
        }
    }

    function _recover(bytes32 digest, CompactSignature calldata sig) private pure returns (address signer) {
        ECDSA.RecoverError err;
        (signer, err,) = ECDSA.tryRecover(digest, sig.r, sig.vs);
        if (err != ECDSA.RecoverError.NoError) revert InvalidSignature();
    }

    function _promoteFeeSplit() private {
        _feeSplit = _nextFeeSplit;
        delete _nextFeeSplit;
        _nextFeeSplitFrom = 0;
    }

    function _checkFeeSplit(FeeSplit memory s) private pure {
        uint256 sum = uint256(s.node) + s.modelOwner + s.adapterOwner + s.contributors + s.validators + s.treasury;
        if (sum != 10_000) revert InvalidFeeSplit();
    }

    function _setParams(Params memory p) private {
        if (p.authorizationWindow < MIN_AUTHORIZATION_WINDOW || p.authorizationWindow > MAX_AUTHORIZATION_WINDOW) {
            revert InvalidParameter("authorizationWindow");
        }
        if (p.epochDuration < MIN_EPOCH_DURATION || p.epochDuration > MAX_EPOCH_DURATION) {
            revert InvalidParameter("epochDuration");
        }
        if (
            p.withdrawalDelay <= uint256(p.authorizationWindow) + p.epochDuration
                || p.withdrawalDelay > MAX_WITHDRAWAL_DELAY
        ) revert InvalidParameter("withdrawalDelay");
        if (p.escapeDelay < MIN_ESCAPE_DELAY || p.escapeDelay < p.withdrawalDelay || p.escapeDelay > MAX_ESCAPE_DELAY) {
            revert InvalidParameter("escapeDelay");
        }
        if (p.inactivityWindow < MIN_INACTIVITY_WINDOW || p.inactivityWindow > MAX_INACTIVITY_WINDOW) {
            revert InvalidParameter("inactivityWindow");
        }
        // Authorizations signed under the old window may stay valid that long: no withdrawal requested from
        // now on unlocks before they and an epoch to checkpoint them have passed, however short the new
        // delay (zero at construction, where nothing is outstanding).
        Params memory old = params;
        uint64 floor = uint64(block.timestamp) + old.authorizationWindow + old.epochDuration + 1;
        if (old.withdrawalDelay != 0 && floor > _unlockFloor) _unlockFloor = floor;
        params = p;
        emit ParamsChanged(p);
    }
}
