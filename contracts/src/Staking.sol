// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IStaking, Validator} from "./IStaking.sol";

/// @title Validator staking: stake OPEN, bind a libp2p PeerId and a signing key, unbond with a delay.
/// @notice The owner is the governance Timelock (after deployment wires the Ledger); it sets the minimum
/// stake, the unbonding delay, the slash fraction and the set size cap.
/// @dev Design choice for checkpoint gas: the Ledger does not call back here once per signature. Instead
/// this contract keeps `validatorSetHash`, a hash of the whole active set (signer, stake), recomputed on
/// every change. A checkpoint carries the set in calldata, the Ledger hashes it once and compares with this
/// one word. Set changes are rare (stake, unstake, slash) and cost O(set size); checkpoints are every epoch
/// and then pay per signer only calldata and one ecrecover. `maxValidators` bounds the recompute cost.
contract Staking is IStaking, Ownable {
    using SafeERC20 for IERC20;

    struct Account {
        // slot 0: the pair the active set is made of, read together
        address signer;
        uint96 stake;
        // slot 1
        uint96 unbonding;
        uint64 unbondingEnd;
        uint32 activePosition; // 1-based index into `_active`, 0 when not in the set
        bool jailed;
        bytes peerId;
    }

    error BelowMinimumStake(uint256 stake, uint256 minimum);
    error AlreadyRegistered(address staker);
    error NotRegistered(address staker);
    error SignerTaken(address signer);
    error PeerIdTaken(bytes peerId);
    error InvalidSigner();
    error InvalidPeerId();
    error ValidatorSetFull(uint256 max);
    error Jailed(address staker);
    error InsufficientStake(uint256 requested, uint256 available);
    error UnbondingNotFinished(uint64 unbondingEnd);
    error NothingToWithdraw();
    error NotLedger(address caller);
    error LedgerAlreadySet();
    error InvalidParameter();

    event Registered(address indexed staker, address indexed signer, bytes peerId, uint256 stake);
    event StakeAdded(address indexed staker, uint256 amount, uint256 stake);
    event UnstakeRequested(address indexed staker, uint256 amount, uint64 unbondingEnd);
    event Withdrawn(address indexed staker, uint256 amount);
    event Slashed(address indexed staker, uint256 burned);
    event ValidatorSetChanged(bytes32 validatorSetHash, uint256 size, uint256 totalStake);
    event ParametersChanged(uint96 minStake, uint64 unbondingDelay, uint16 slashBps, uint32 maxValidators);
    event LedgerSet(address ledger);

    IERC20 public immutable token;
    address public ledger;

    uint96 public minStake;
    uint64 public unbondingDelay; // seconds
    uint16 public slashBps; // fraction of bonded + unbonding stake burned on equivocation
    uint32 public maxValidators;

    bytes32 public validatorSetHash;
    uint256 public totalActiveStake;

    mapping(address staker => Account) private _accounts;
    mapping(address signer => address staker) public stakerOf;
    mapping(bytes32 peerIdHash => address staker) public stakerOfPeerId;
    address[] private _active;

    constructor(
        IERC20 token_,
        address owner_,
        uint96 minStake_,
        uint64 unbondingDelay_,
        uint16 slashBps_,
        uint32 maxValidators_
    ) Ownable(owner_) {
        token = token_;
        _setParameters(minStake_, unbondingDelay_, slashBps_, maxValidators_);
        validatorSetHash = keccak256(abi.encode(new Validator[](0)));
    }

    // ---------------------------------------------------------------- validators

    /// @notice Joins the active set with `amount` OPEN (approve first), binding a signing address (the key
    /// that signs checkpoint votes) and the node's libp2p PeerId (multihash bytes).
    function register(address signer, bytes calldata peerId, uint96 amount) external {
        Account storage a = _accounts[msg.sender];
        if (a.signer != address(0)) revert AlreadyRegistered(msg.sender);
        if (signer == address(0)) revert InvalidSigner();
        if (stakerOf[signer] != address(0)) revert SignerTaken(signer);
        if (peerId.length == 0 || peerId.length > 64) revert InvalidPeerId();
        bytes32 peerKey = keccak256(peerId);
        if (stakerOfPeerId[peerKey] != address(0)) revert PeerIdTaken(peerId);
        if (amount < minStake) revert BelowMinimumStake(amount, minStake);
        if (_active.length >= maxValidators) revert ValidatorSetFull(maxValidators);

        token.safeTransferFrom(msg.sender, address(this), amount);
        a.signer = signer;
        a.stake = amount;
        a.peerId = peerId;
        stakerOf[signer] = msg.sender;
        stakerOfPeerId[peerKey] = msg.sender;
        _active.push(msg.sender);
        a.activePosition = uint32(_active.length);
        emit Registered(msg.sender, signer, peerId, amount);
        _commitSet();
    }

    /// @notice Adds stake to an active validator.
    function addStake(uint96 amount) external {
        Account storage a = _accounts[msg.sender];
        if (a.activePosition == 0) revert NotRegistered(msg.sender);
        token.safeTransferFrom(msg.sender, address(this), amount);
        a.stake += amount;
        emit StakeAdded(msg.sender, amount, a.stake);
        _commitSet();
    }

    /// @notice Moves `amount` from bonded stake into unbonding; withdrawable after `unbondingDelay`.
    /// Unbonding stake can still be slashed, so leaving does not escape evidence of an old equivocation.
    /// Whatever remains bonded must stay above the minimum, or be zero (which leaves the set).
    function requestUnstake(uint96 amount) external {
        Account storage a = _accounts[msg.sender];
        if (a.signer == address(0)) revert NotRegistered(msg.sender);
        if (amount == 0 || amount > a.stake) revert InsufficientStake(amount, a.stake);
        uint96 remaining = a.stake - amount;
        if (remaining != 0 && remaining < minStake) revert BelowMinimumStake(remaining, minStake);
        a.stake = remaining;
        a.unbonding += amount;
        a.unbondingEnd = uint64(block.timestamp) + unbondingDelay;
        emit UnstakeRequested(msg.sender, amount, a.unbondingEnd);
        if (remaining == 0) _removeFromSet(a);
        _commitSet();
    }

    /// @notice Withdraws unbonded stake once the delay has passed.
    function withdraw() external {
        Account storage a = _accounts[msg.sender];
        uint96 amount = a.unbonding;
        if (amount == 0) revert NothingToWithdraw();
        if (block.timestamp < a.unbondingEnd) revert UnbondingNotFinished(a.unbondingEnd);
        a.unbonding = 0;
        token.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    // ---------------------------------------------------------------- slashing (Ledger only)

    /// @inheritdoc IStaking
    function slash(address staker) external returns (uint256 burned) {
        if (msg.sender != ledger) revert NotLedger(msg.sender);
        Account storage a = _accounts[staker];
        if (a.signer == address(0)) revert NotRegistered(staker);
        uint96 fromStake = uint96((uint256(a.stake) * slashBps) / 10_000);
        uint96 fromUnbonding = uint96((uint256(a.unbonding) * slashBps) / 10_000);
        a.stake -= fromStake;
        a.unbonding -= fromUnbonding;
        // A validator caught equivocating leaves the set for good; what is left of its stake unbonds.
        a.jailed = true;
        if (a.activePosition != 0) {
            a.unbonding += a.stake;
            a.stake = 0;
            a.unbondingEnd = uint64(block.timestamp) + unbondingDelay;
            _removeFromSet(a);
            _commitSet();
        }
        burned = uint256(fromStake) + fromUnbonding;
        if (burned != 0) ERC20Burnable(address(token)).burn(burned);
        emit Slashed(staker, burned);
    }

    // ---------------------------------------------------------------- governance

    function setParameters(uint96 minStake_, uint64 unbondingDelay_, uint16 slashBps_, uint32 maxValidators_)
        external
        onlyOwner
    {
        if (maxValidators_ < _active.length) revert InvalidParameter();
        _setParameters(minStake_, unbondingDelay_, slashBps_, maxValidators_);
    }

    /// @notice Wires the Ledger (the only slasher) once; deployment calls this before handing ownership
    /// to the Timelock, which breaks the Ledger ↔ Staking constructor cycle.
    function setLedger(address ledger_) external onlyOwner {
        if (ledger != address(0)) revert LedgerAlreadySet();
        if (ledger_ == address(0)) revert InvalidParameter();
        ledger = ledger_;
        emit LedgerSet(ledger_);
    }

    // ---------------------------------------------------------------- reads

    /// @notice The active set with each validator's stake, in the order the Ledger expects, in one call.
    function activeValidators() public view returns (Validator[] memory set, uint256 totalStake) {
        uint256 n = _active.length;
        set = new Validator[](n);
        for (uint256 i; i < n; ++i) {
            Account storage a = _accounts[_active[i]];
            set[i] = Validator(a.signer, a.stake);
            totalStake += a.stake;
        }
    }

    /// @notice The stakers (validator accounts) of the active set, same order as `activeValidators`.
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
            bool jailed,
            bytes memory peerId
        )
    {
        Account storage a = _accounts[staker];
        return (a.signer, a.stake, a.unbonding, a.unbondingEnd, a.activePosition != 0, a.jailed, a.peerId);
    }

    // ---------------------------------------------------------------- internals

    function _setParameters(uint96 minStake_, uint64 unbondingDelay_, uint16 slashBps_, uint32 maxValidators_)
        private
    {
        if (minStake_ == 0 || slashBps_ > 10_000 || maxValidators_ == 0) revert InvalidParameter();
        minStake = minStake_;
        unbondingDelay = unbondingDelay_;
        slashBps = slashBps_;
        maxValidators = maxValidators_;
        emit ParametersChanged(minStake_, unbondingDelay_, slashBps_, maxValidators_);
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

    function _commitSet() private {
        (Validator[] memory set, uint256 totalStake) = activeValidators();
        bytes32 h = keccak256(abi.encode(set));
        validatorSetHash = h;
        totalActiveStake = totalStake;
        emit ValidatorSetChanged(h, set.length, totalStake);
    }
}
