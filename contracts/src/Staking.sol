// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IEpochClock, IStaking, Validator} from "./IStaking.sol";

/// @title Validator staking: stake OPEN, bind a signing key and a libp2p PeerId (with proofs of
/// possession), unbond with a delay; the set that signs each epoch is fixed before the epoch starts.
/// @notice The owner is the governance Timelock; it sets the minimum stake, the unbonding delay, the slash
/// fraction and the set size cap, each within bounds fixed here.
/// @dev The active set lives in `_active`; every change commits its hash (keccak256(abi.encode(set)))
/// for a future epoch: changes made while the Ledger's last checkpointed epoch is L apply from L + 2, so the
/// set of the epoch being voted on (L + 1) never moves under in-flight votes, and new stake waits a whole
/// epoch before it counts. The exception is bootstrap: while the set for L + 1 is empty (at genesis, or
/// after everyone left) nobody can have signed L + 1, so changes apply to L + 1 itself until it is
/// checkpointed, and the stake majority of everyone who registered by then decides it (a first registrant
/// alone never owns it). A checkpoint carries its set in calldata and commits to its hash in the vote;
/// the Ledger compares it with `setHashFor(epoch)`: one hash per checkpoint, nothing per signer.
/// The full set of each commit is in the `ValidatorSetCommitted` event, for clients that build checkpoints.
contract Staking is IStaking, Ownable, EIP712 {
    using SafeERC20 for IERC20;

    struct Account {
        // slot 0: the pair the active set is made of, read together
        address signer;
        uint96 stake;
        // slot 1
        uint96 unbonding;
        uint64 unbondingEnd;
        uint32 activePosition; // 1-based index into `_active`, 0 when not in the set
        bool banned; // slashed for equivocation: never registers again
        // slot 2
        uint64 releaseEpoch; // unbonding stake also waits until this epoch is checkpointed
        bytes peerId; // cleared on exit
    }

    struct SetCommit {
        bytes32 hash;
        uint64 fromEpoch;
    }

    // Parameter bounds. Unbonding must outlast the longest epoch (1 day, Ledger) by a margin so evidence of
    // an equivocation can land before the stake leaves; the set fits the Ledger's 256-bit signer bitmap.
    uint96 public constant MIN_STAKE_FLOOR = 1 ether;
    uint96 public constant MIN_STAKE_CEILING = 10_000_000 ether;
    uint64 public constant MIN_UNBONDING_DELAY = 3 days;
    uint64 public constant MAX_UNBONDING_DELAY = 90 days;
    uint16 public constant MIN_SLASH_BPS = 100;
    uint16 public constant MAX_SLASH_BPS = 10_000;
    uint32 public constant MAX_VALIDATORS_CEILING = 256;
    uint256 public constant MAX_PEER_ID_BYTES = 64;
    uint256 public constant MAX_PEER_ID_PROOF_BYTES = 128;

    bytes32 public constant REGISTRATION_TYPEHASH =
        keccak256("Registration(address staker,address signer,bytes peerId)");
    bytes32 public constant EMPTY_SET_HASH = keccak256(abi.encode(new Validator[](0)));

    error BelowMinimumStake(uint256 stake, uint256 minimum);
    error AlreadyRegistered(address staker);
    error NotRegistered(address staker);
    error NotActive(address staker);
    error Banned(address staker);
    error SignerTaken(address signer, address staker);
    error InvalidSigner();
    error InvalidSignerProof();
    error InvalidPeerId();
    error InvalidPeerIdProof();
    error ValidatorSetFull(uint256 max, uint256 smallestStake);
    error InsufficientStake(uint256 requested, uint256 available);
    error UnbondingNotFinished(uint64 unbondingEnd);
    error AwaitingEpoch(uint64 releaseEpoch);
    error NothingToWithdraw();
    error NotLedger(address caller);
    error LedgerAlreadySet();
    error InvalidParameter(string name);

    event Registered(
        address indexed staker, address indexed signer, bytes peerId, uint256 stake, bytes peerIdProof
    );
    event StakeAdded(address indexed staker, uint256 amount, uint256 stake);
    event UnstakeRequested(address indexed staker, uint256 amount, uint64 unbondingEnd);
    event Exited(address indexed staker, uint8 reason, uint256 unbonding, uint64 unbondingEnd);
    event Withdrawn(address indexed staker, uint256 amount);
    event Slashed(address indexed staker, uint256 burned);
    event ValidatorSetCommitted(uint64 indexed fromEpoch, bytes32 setHash, Validator[] set, uint256 totalStake);
    event ParametersChanged(uint96 minStake, uint64 unbondingDelay, uint16 slashBps, uint32 maxValidators);
    event LedgerSet(address ledger);

    // Exit reasons in `Exited`.
    uint8 public constant EXIT_UNSTAKED = 0;
    uint8 public constant EXIT_EVICTED = 1;
    uint8 public constant EXIT_JAILED = 2;
    uint8 public constant EXIT_SLASHED = 3;

    IERC20 public immutable token;
    address public ledger;

    uint96 public minStake;
    uint64 public unbondingDelay; // seconds
    uint16 public slashBps; // fraction of bonded + unbonding stake burned on equivocation
    uint32 public maxValidators;

    uint256 public totalActiveStake; // of the live set (what the next commit holds)
    SetCommit private _current;
    SetCommit private _next;
    uint64 private _bootstrapEpoch = 1; // the epoch taking changes directly while it has no signed set

    mapping(address staker => Account) private _accounts;
    mapping(address signer => address staker) public stakerOf;
    address[] private _active;

    constructor(
        IERC20 token_,
        address owner_,
        uint96 minStake_,
        uint64 unbondingDelay_,
        uint16 slashBps_,
        uint32 maxValidators_
    ) Ownable(owner_) EIP712("OpenLedger Staking", "1") {
        token = token_;
        _setParameters(minStake_, unbondingDelay_, slashBps_, maxValidators_);
        _current = SetCommit(EMPTY_SET_HASH, 0);
    }

    // ---------------------------------------------------------------- validators

    /// @notice Joins the set with `amount` OPEN (approve first), binding `signer` (the key that signs
    /// checkpoint votes) and `peerId` (the node's libp2p PeerId as multihash bytes).
    /// @param signerProof `signer`'s ECDSA signature over the EIP-712 `Registration(staker, signer, peerId)`
    /// in this contract's domain: nobody binds a key it does not hold. A signer stays bound to the first
    /// staker that proved it; that staker may bind it again after an exit.
    /// @param peerIdProof the libp2p key's signature over the same 32-byte digest. The EVM cannot verify
    /// Ed25519, so it is published in `Registered` and every node verifies it before it maps the PeerId to
    /// this validator; for the same reason a PeerId is not made unique here (a squatter could not prove
    /// it, but could block the owner). The PeerId is released when the validator exits.
    /// If the set is full, `amount` must exceed the smallest stake in it, which is evicted (it unbonds).
    function register(
        address signer,
        bytes calldata peerId,
        uint96 amount,
        bytes calldata signerProof,
        bytes calldata peerIdProof
    ) external {
        Account storage a = _accounts[msg.sender];
        if (a.banned) revert Banned(msg.sender);
        if (a.activePosition != 0) revert AlreadyRegistered(msg.sender);
        if (signer == address(0)) revert InvalidSigner();
        address owner = stakerOf[signer];
        if (owner != address(0) && owner != msg.sender) revert SignerTaken(signer, owner);
        if (peerId.length == 0 || peerId.length > MAX_PEER_ID_BYTES) revert InvalidPeerId();
        if (peerIdProof.length == 0 || peerIdProof.length > MAX_PEER_ID_PROOF_BYTES) revert InvalidPeerIdProof();
        bytes32 digest = registrationDigest(msg.sender, signer, peerId);
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signerProof);
        if (err != ECDSA.RecoverError.NoError || recovered != signer) revert InvalidSignerProof();
        if (amount < minStake) revert BelowMinimumStake(amount, minStake);
        if (_active.length >= maxValidators) {
            (address smallest, uint96 smallestStake) = _smallest();
            if (amount <= smallestStake) revert ValidatorSetFull(maxValidators, smallestStake);
            _exit(smallest, _accounts[smallest], EXIT_EVICTED);
        }

        token.safeTransferFrom(msg.sender, address(this), amount);
        a.signer = signer;
        a.stake = amount;
        a.peerId = peerId;
        stakerOf[signer] = msg.sender;
        _active.push(msg.sender);
        a.activePosition = uint32(_active.length);
        emit Registered(msg.sender, signer, peerId, amount, peerIdProof);
        _commitSet();
    }

    /// @notice Adds stake to an active validator; it counts from the epoch after next.
    function addStake(uint96 amount) external {
        Account storage a = _accounts[msg.sender];
        if (a.activePosition == 0) revert NotActive(msg.sender);
        if (amount == 0) revert InsufficientStake(0, 0);
        token.safeTransferFrom(msg.sender, address(this), amount);
        a.stake += amount;
        emit StakeAdded(msg.sender, amount, a.stake);
        _commitSet();
    }

    /// @notice Moves `amount` from bonded stake into unbonding; withdrawable after `unbondingDelay`.
    /// Unbonding stake can still be slashed, so leaving does not escape evidence of an old equivocation.
    /// Whatever remains bonded must stay above the minimum, or be zero (which exits the set).
    function requestUnstake(uint96 amount) external {
        Account storage a = _accounts[msg.sender];
        if (a.activePosition == 0) revert NotActive(msg.sender);
        if (amount == 0 || amount > a.stake) revert InsufficientStake(amount, a.stake);
        uint96 remaining = a.stake - amount;
        if (remaining == 0) {
            _exit(msg.sender, a, EXIT_UNSTAKED);
            return;
        }
        if (remaining < minStake) revert BelowMinimumStake(remaining, minStake);
        a.stake = remaining;
        a.unbonding += amount;
        a.unbondingEnd = uint64(block.timestamp) + unbondingDelay;
        a.releaseEpoch = _lastEpoch() + 1; // the set of L + 1 still counts it
        emit UnstakeRequested(msg.sender, amount, a.unbondingEnd);
        _commitSet();
    }

    /// @notice Withdraws unbonded stake once the delay has passed and every epoch whose fixed set still
    /// counted it has been checkpointed (time alone would let a stalled chain's set keep a vote whose stake
    /// is gone, and an equivocation in it burn nothing).
    function withdraw() external {
        Account storage a = _accounts[msg.sender];
        uint96 amount = a.unbonding;
        if (amount == 0) revert NothingToWithdraw();
        if (block.timestamp < a.unbondingEnd) revert UnbondingNotFinished(a.unbondingEnd);
        if (_lastEpoch() < a.releaseEpoch) revert AwaitingEpoch(a.releaseEpoch);
        a.unbonding = 0;
        token.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    // ---------------------------------------------------------------- Ledger only

    /// @inheritdoc IStaking
    function slash(address staker) external returns (uint256 burned) {
        if (msg.sender != ledger) revert NotLedger(msg.sender);
        Account storage a = _accounts[staker];
        if (a.signer == address(0)) revert NotRegistered(staker);
        uint96 fromStake = uint96((uint256(a.stake) * slashBps) / 10_000);
        uint96 fromUnbonding = uint96((uint256(a.unbonding) * slashBps) / 10_000);
        a.stake -= fromStake;
        a.unbonding -= fromUnbonding;
        a.banned = true;
        if (a.activePosition != 0) _exit(staker, a, EXIT_SLASHED);
        burned = uint256(fromStake) + fromUnbonding;
        if (burned != 0) ERC20Burnable(address(token)).burn(burned);
        emit Slashed(staker, burned);
    }

    /// @inheritdoc IStaking
    function jail(address staker) external {
        if (msg.sender != ledger) revert NotLedger(msg.sender);
        Account storage a = _accounts[staker];
        if (a.activePosition == 0) revert NotActive(staker);
        _exit(staker, a, EXIT_JAILED);
    }

    // ---------------------------------------------------------------- governance

    function setParameters(uint96 minStake_, uint64 unbondingDelay_, uint16 slashBps_, uint32 maxValidators_)
        external
        onlyOwner
    {
        if (maxValidators_ < _active.length) revert InvalidParameter("maxValidators");
        _setParameters(minStake_, unbondingDelay_, slashBps_, maxValidators_);
    }

    /// @notice Wires the Ledger (the epoch clock and the only slasher) once; deployment calls this before
    /// handing ownership to the Timelock, which breaks the Ledger ↔ Staking constructor cycle.
    function setLedger(address ledger_) external onlyOwner {
        if (ledger != address(0)) revert LedgerAlreadySet();
        if (ledger_ == address(0)) revert InvalidParameter("ledger");
        ledger = ledger_;
        emit LedgerSet(ledger_);
    }

    // ---------------------------------------------------------------- reads

    /// @inheritdoc IStaking
    function setHashFor(uint64 epoch) public view returns (bytes32) {
        SetCommit storage next = _next;
        if (next.fromEpoch != 0 && epoch >= next.fromEpoch) return next.hash;
        return _current.hash;
    }

    /// @notice The epoch from which the live set (`activeValidators`) signs; 0 when it already does.
    function pendingFromEpoch() external view returns (uint64) {
        return _next.fromEpoch > _lastEpoch() + 1 ? _next.fromEpoch : 0;
    }

    /// @notice The live set with each validator's stake, in commit order. It signs from
    /// `pendingFromEpoch()` (or now, when that is 0); the `ValidatorSetCommitted` events say which set
    /// signs which epoch.
    function activeValidators() public view returns (Validator[] memory set, uint256 totalStake) {
        uint256 n = _active.length;
        set = new Validator[](n);
        for (uint256 i; i < n; ++i) {
            Account storage a = _accounts[_active[i]];
            set[i] = Validator(a.signer, a.stake);
            totalStake += a.stake;
        }
    }

    /// @notice The stakers (validator accounts) of the live set, same order as `activeValidators`.
    function activeStakers() external view returns (address[] memory) {
        return _active;
    }

    function getValidator(address staker)
        external
        view
        returns (
            address signer,
            uint96 stake,
            uint96 unbonding,
            uint64 unbondingEnd,
            bool active,
            bool banned,
            bytes memory peerId,
            uint64 releaseEpoch
        )
    {
        Account storage a = _accounts[staker];
        return (
            a.signer, a.stake, a.unbonding, a.unbondingEnd, a.activePosition != 0, a.banned, a.peerId, a.releaseEpoch
        );
    }

    /// @notice The EIP-712 digest the signer key (and, off chain, the libp2p key) signs to register.
    function registrationDigest(address staker, address signer, bytes calldata peerId)
        public
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(keccak256(abi.encode(REGISTRATION_TYPEHASH, staker, signer, keccak256(peerId))));
    }

    // ---------------------------------------------------------------- internals

    function _setParameters(uint96 minStake_, uint64 unbondingDelay_, uint16 slashBps_, uint32 maxValidators_)
        private
    {
        if (minStake_ < MIN_STAKE_FLOOR || minStake_ > MIN_STAKE_CEILING) revert InvalidParameter("minStake");
        if (unbondingDelay_ < MIN_UNBONDING_DELAY || unbondingDelay_ > MAX_UNBONDING_DELAY) {
            revert InvalidParameter("unbondingDelay");
        }
        if (slashBps_ < MIN_SLASH_BPS || slashBps_ > MAX_SLASH_BPS) revert InvalidParameter("slashBps");
        if (maxValidators_ == 0 || maxValidators_ > MAX_VALIDATORS_CEILING) revert InvalidParameter("maxValidators");
        minStake = minStake_;
        unbondingDelay = unbondingDelay_;
        slashBps = slashBps_;
        maxValidators = maxValidators_;
        emit ParametersChanged(minStake_, unbondingDelay_, slashBps_, maxValidators_);
    }

    /// @dev Leaves the set: the bonded stake unbonds (still slashable), the PeerId is released.
    function _exit(address staker, Account storage a, uint8 reason) private {
        a.unbonding += a.stake;
        a.stake = 0;
        a.unbondingEnd = uint64(block.timestamp) + unbondingDelay;
        a.releaseEpoch = _lastEpoch() + 1; // the set of L + 1 still counts it
        delete a.peerId;
        _removeFromSet(a);
        emit Exited(staker, reason, a.unbonding, a.unbondingEnd);
        _commitSet();
    }

    function _smallest() private view returns (address staker, uint96 stake) {
        stake = type(uint96).max;
        for (uint256 i; i < _active.length; ++i) {
            uint96 s = _accounts[_active[i]].stake;
            if (s < stake) (staker, stake) = (_active[i], s);
        }
    }

    /// @dev Swap-and-pop: the set order is arbitrary, the Ledger takes whatever order the hash commits to.
    function _removeFromSet(Account storage a) private {
        uint256 index = a.activePosition - 1;
        uint256 last = _active.length - 1;
        if (index != last) {
            address moved = _active[last];
            _active[index] = moved;
            _accounts[moved].activePosition = uint32(index + 1);
        }
        _active.pop();
        a.activePosition = 0;
    }

    function _lastEpoch() private view returns (uint64) {
        return ledger == address(0) ? 0 : IEpochClock(ledger).lastEpoch();
    }

    /// @dev Commits the live set for epoch L + 2, or for L + 1 while L + 1 is bootstrapping (its set was
    /// empty when the first change since the last checkpoint came: nobody can have signed for it, and it
    /// keeps taking changes until it is checkpointed). A commit already due at L + 1 becomes current first.
    function _commitSet() private {
        (Validator[] memory set, uint256 totalStake) = activeValidators();
        bytes32 h = keccak256(abi.encode(set));
        uint64 last = _lastEpoch();
        if (_next.fromEpoch != 0 && _next.fromEpoch <= last + 1) {
            _current = _next;
            delete _next;
        }
        uint64 from;
        if (_bootstrapEpoch == last + 1 || setHashFor(last + 1) == EMPTY_SET_HASH) {
            from = last + 1;
            _current = SetCommit(h, 0);
            delete _next;
            _bootstrapEpoch = last + 1;
        } else {
            from = last + 2;
            _next = SetCommit(h, from);
        }
        totalActiveStake = totalStake;
        emit ValidatorSetCommitted(from, h, set, totalStake);
    }
}
