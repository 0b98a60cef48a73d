// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IStaking, Validator} from "./IStaking.sol";

/// @title The Ledger: client deposits, validator checkpoints of the off-chain ledger, reward claims.
/// @notice Validators recompute the ledger (cumulative earned and spent per account) every epoch and sign
/// its root as EIP-712 `Checkpoint` typed data. This contract accepts a checkpoint signed by more than 2/3
/// of active stake, then pays each account `earned - claimed` against a Merkle proof of its leaf.
///
/// Money safety does not rest on the quorum alone:
///  - each checkpoint lists every client whose cumulative spending changed (`totals`); a client's spending
///    can only grow and never beyond what that client has deposited (checked per client, not in aggregate,
///    so one rich client cannot cover another's overdraft);
///  - claims in total never exceed settled spending (`totalClaimed <= totalSpent`), so the contract stays
///    solvent for every client's unspent deposit whatever root is signed;
///  - withdrawals wait `withdrawalDelayEpochs` checkpoints and pay at most what is still unspent, so a
///    client cannot withdraw ahead of the payment authorizations it signed.
contract Ledger is EIP712, Ownable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice A client's cumulative spending after this checkpoint.
    struct Spend {
        address client;
        uint128 spent;
    }

    /// @notice What validators sign (EIP-712 primary type `Checkpoint`).
    struct Checkpoint {
        uint64 epoch;
        uint32 round;
        bytes32 parentRoot;
        bytes32 stateRoot;
        bytes32 receiptsRoot;
        string receiptsCid; // the receipt batch in IPFS, so any node learns what the root covers
        Spend[] totals; // sorted by client address, only clients whose spending changed
    }

    /// @notice A vote's signature in EIP-2098 compact form (64 bytes of calldata instead of 65 + padding),
    /// plus the position of its signer in the validator set, so matching a signer to its stake is one
    /// calldata read instead of a search or an external call.
    struct Signature {
        uint256 index;
        bytes32 r;
        bytes32 vs;
    }

    struct CompactSignature {
        bytes32 r;
        bytes32 vs;
    }

    /// @notice Shares of every fee, in basis points; they sum to 10,000. Consensus reads them from here.
    struct FeeSplit {
        uint16 node;
        uint16 modelOwner;
        uint16 contributors;
        uint16 validators;
        uint16 treasury;
    }

    struct Client {
        uint128 funded; // deposits minus executed withdrawals
        uint128 spent; // cumulative spending settled by checkpoints
    }

    struct Withdrawal {
        uint128 amount;
        uint64 unlockEpoch;
    }

    bytes32 public constant SPEND_TYPEHASH = keccak256("Spend(address client,uint128 spent)");
    bytes32 public constant CHECKPOINT_TYPEHASH = keccak256(
        "Checkpoint(uint64 epoch,uint32 round,bytes32 parentRoot,bytes32 stateRoot,bytes32 receiptsRoot,string receiptsCid,Spend[] totals)Spend(address client,uint128 spent)"
    );

    // checkpoints
    error UnexpectedEpoch(uint64 expected, uint64 got);
    error WrongParent(bytes32 expected, bytes32 got);
    error ValidatorSetMismatch();
    error SignerNotInSet(uint256 position);
    error DuplicateSigner(address signer);
    error UnsortedSigners(uint256 position);
    error InsufficientQuorum(uint256 signedStake, uint256 totalStake);
    error UnsortedTotals(uint256 position);
    error SpentDecreased(address client, uint128 settled, uint128 claimed);
    error TotalsExceedDeposits(address client, uint128 spent, uint128 funded);
    // claims
    error InvalidProof();
    error NothingToClaim(uint256 earned, uint256 alreadyClaimed);
    error ClaimExceedsSettled(uint256 amount, uint256 available);
    // deposits and withdrawals
    error ZeroAmount();
    error InsufficientFreeBalance(uint256 requested, uint256 free);
    error NoPendingWithdrawal();
    error WithdrawalNotReady(uint64 unlockEpoch, uint64 lastEpoch);
    // slashing
    error NotSameEpochRound();
    error VotesNotConflicting();
    error InvalidSignature();
    error SignersDiffer(address first, address second);
    error UnknownSigner(address signer);
    error AlreadySlashed(address signer, uint64 epoch, uint32 round);
    // governance
    error InvalidFeeSplit();
    error InvalidWithdrawalDelay();

    event Deposited(address indexed client, uint256 amount);
    event WithdrawalRequested(address indexed client, uint256 amount, uint64 unlockEpoch);
    event Withdrawn(address indexed client, uint256 amount);
    event Checkpointed(
        uint64 indexed epoch, uint32 round, bytes32 stateRoot, bytes32 receiptsRoot, string receiptsCid, uint256 spentAdded
    );
    event Claimed(address indexed account, uint256 amount, uint256 earned);
    event EquivocationSlashed(address indexed staker, address indexed signer, uint64 epoch, uint32 round, uint256 burned);
    event FeeSplitChanged(FeeSplit split);
    event WithdrawalDelayChanged(uint64 epochs);

    IERC20 public immutable token;
    IStaking public immutable staking;

    bytes32 public stateRoot; // bytes32(0) is the empty genesis state, the parent of epoch 1
    uint64 public lastEpoch;
    uint64 public withdrawalDelayEpochs;
    uint128 public totalSpent; // settled client spending: the most claims can ever pay
    uint128 public totalClaimed;
    FeeSplit private _feeSplit;

    mapping(address client => Client) private _clients;
    mapping(address client => Withdrawal) public pendingWithdrawal;
    mapping(address account => uint256) public claimed;
    mapping(bytes32 signerEpochRound => bool) public slashedFor;

    constructor(IERC20 token_, IStaking staking_, address owner_, FeeSplit memory split, uint64 withdrawalDelayEpochs_)
        EIP712("OpenLedger", "1")
        Ownable(owner_)
    {
        token = token_;
        staking = staking_;
        _setFeeSplit(split);
        _setWithdrawalDelay(withdrawalDelayEpochs_);
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

    /// @notice Starts a withdrawal of unspent funds; it can execute after `withdrawalDelayEpochs` more
    /// checkpoints. The amount stays spendable meanwhile: receipts the client signed before asking are
    /// settled first, and the withdrawal pays only what they leave. A new request replaces the old one.
    function requestWithdrawal(uint128 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 free = _free(_clients[msg.sender]);
        if (amount > free) revert InsufficientFreeBalance(amount, free);
        uint64 unlockEpoch = lastEpoch + withdrawalDelayEpochs;
        pendingWithdrawal[msg.sender] = Withdrawal(amount, unlockEpoch);
        emit WithdrawalRequested(msg.sender, amount, unlockEpoch);
    }

    /// @notice Pays the pending withdrawal, capped at what checkpoints since the request left unspent.
    function executeWithdrawal() external nonReentrant returns (uint256 paid) {
        Withdrawal memory w = pendingWithdrawal[msg.sender];
        if (w.amount == 0) revert NoPendingWithdrawal();
        if (lastEpoch < w.unlockEpoch) revert WithdrawalNotReady(w.unlockEpoch, lastEpoch);
        Client storage c = _clients[msg.sender];
        uint256 free = _free(c);
        if (free == 0) revert InsufficientFreeBalance(w.amount, 0);
        paid = w.amount < free ? w.amount : free;
        delete pendingWithdrawal[msg.sender];
        c.funded -= uint128(paid);
        token.safeTransfer(msg.sender, paid);
        emit Withdrawn(msg.sender, paid);
    }

    // ---------------------------------------------------------------- checkpoints

    /// @notice Records the ledger root of epoch `lastEpoch + 1`.
    /// @param validators the active set exactly as `Staking.activeValidators()` returns it. Passing it in
    /// calldata and checking one hash against Staking costs ~600 gas per validator, where reading each
    /// signer's stake from Staking would cost an external call and cold storage reads (~5,000+) per signer.
    /// @param signatures sorted by strictly increasing signer address, which rejects duplicates in the same
    /// pass (Polygon's StakeManager.checkSignatures does the same).
    function checkpoint(Checkpoint calldata cp, Validator[] calldata validators, Signature[] calldata signatures)
        external
    {
        uint64 expected = lastEpoch + 1;
        if (cp.epoch != expected) revert UnexpectedEpoch(expected, cp.epoch);
        if (cp.parentRoot != stateRoot) revert WrongParent(stateRoot, cp.parentRoot);
        _verifyQuorum(_hashTypedDataV4(_hashCheckpoint(cp)), validators, signatures);
        uint256 spentAdded = _settle(cp.totals);
        stateRoot = cp.stateRoot;
        lastEpoch = expected;
        emit Checkpointed(expected, cp.round, cp.stateRoot, cp.receiptsRoot, cp.receiptsCid, spentAdded);
    }

    /// @notice Pays `earned - claimed` to the caller; `earned` and `spent` are the caller's cumulative
    /// figures in the current state root. Claiming again later pays only what was earned since.
    function claim(uint256 earned, uint256 spent, bytes32[] calldata proof) external nonReentrant {
        bytes32 leaf = keccak256(abi.encode(msg.sender, earned, spent));
        if (!MerkleProof.verifyCalldata(proof, stateRoot, leaf)) revert InvalidProof();
        uint256 already = claimed[msg.sender];
        if (earned <= already) revert NothingToClaim(earned, already);
        uint256 amount = earned - already;
        uint256 newTotal = totalClaimed + amount;
        if (newTotal > totalSpent) revert ClaimExceedsSettled(amount, totalSpent - totalClaimed);
        claimed[msg.sender] = earned;
        totalClaimed = uint128(newTotal);
        token.safeTransfer(msg.sender, amount);
        emit Claimed(msg.sender, amount, earned);
    }

    // ---------------------------------------------------------------- slashing

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

    // ---------------------------------------------------------------- governance (Timelock)

    function setFeeSplit(FeeSplit calldata split) external onlyOwner {
        _setFeeSplit(split);
    }

    function setWithdrawalDelay(uint64 epochs) external onlyOwner {
        _setWithdrawalDelay(epochs);
    }

    // ---------------------------------------------------------------- reads

    function feeSplit() external view returns (FeeSplit memory) {
        return _feeSplit;
    }

    function clientBalance(address client) external view returns (uint128 funded, uint128 spent, uint256 free) {
        Client storage c = _clients[client];
        return (c.funded, c.spent, _free(c));
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

    function _free(Client storage c) private view returns (uint256) {
        return c.funded - c.spent;
    }

    function _hashCheckpoint(Checkpoint calldata cp) private pure returns (bytes32) {
        Spend[] calldata totals = cp.totals;
        bytes32[] memory spendHashes = new bytes32[](totals.length);
        for (uint256 i; i < totals.length; ++i) {
            spendHashes[i] = keccak256(abi.encode(SPEND_TYPEHASH, totals[i].client, totals[i].spent));
        }
        return keccak256(
            abi.encode(
                CHECKPOINT_TYPEHASH,
                cp.epoch,
                cp.round,
                cp.parentRoot,
                cp.stateRoot,
                cp.receiptsRoot,
                keccak256(bytes(cp.receiptsCid)),
                keccak256(abi.encodePacked(spendHashes))
            )
        );
    }

    /// @dev Per signature: one calldata index, one ecrecover, one comparison. Nothing per signer touches
    /// storage; the only storage read is Staking's set hash, once.
    function _verifyQuorum(bytes32 digest, Validator[] calldata validators, Signature[] calldata signatures)
        private
        view
    {
        if (keccak256(abi.encode(validators)) != staking.validatorSetHash()) revert ValidatorSetMismatch();
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
        }
        if (signedStake * 3 <= totalStake * 2) revert InsufficientQuorum(signedStake, totalStake);
    }

    /// @dev Applies each listed client's new cumulative spending; clients sorted so each appears once.
    function _settle(Spend[] calldata totals) private returns (uint256 spentAdded) {
        address previous;
        for (uint256 i; i < totals.length; ++i) {
            Spend calldata t = totals[i];
            if (t.client <= previous) revert UnsortedTotals(i);
            previous = t.client;
            Client storage c = _clients[t.client];
            uint128 settled = c.spent;
            if (t.spent < settled) revert SpentDecreased(t.client, settled, t.spent);
            if (t.spent > c.funded) revert TotalsExceedDeposits(t.client, t.spent, c.funded);
            c.spent = t.spent;
            spentAdded += t.spent - settled;
        }
        totalSpent += uint128(spentAdded);
    }

    function _recover(bytes32 digest, CompactSignature calldata sig) private pure returns (address signer) {
        ECDSA.RecoverError err;
        (signer, err,) = ECDSA.tryRecover(digest, sig.r, sig.vs);
        if (err != ECDSA.RecoverError.NoError) revert InvalidSignature();
    }

    function _setFeeSplit(FeeSplit memory s) private {
        if (uint256(s.node) + s.modelOwner + s.contributors + s.validators + s.treasury != 10_000) {
            revert InvalidFeeSplit();
        }
        _feeSplit = s;
        emit FeeSplitChanged(s);
    }

    function _setWithdrawalDelay(uint64 epochs) private {
        // At least one epoch: a withdrawal must always wait for the checkpoint that settles what the
        // client signed before asking.
        if (epochs == 0) revert InvalidWithdrawalDelay();
        withdrawalDelayEpochs = epochs;
        emit WithdrawalDelayChanged(epochs);
    }
}
