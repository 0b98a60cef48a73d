// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @notice One entry of a validator set, as the Ledger receives it in calldata.
/// @dev `stake` fits uint96: OPEN's whole supply (1e27 wei) is below 2^96 (7.9e28).
struct Validator {
    address signer;
    uint96 stake;
}

/// @notice What the Ledger needs from Staking.
interface IStaking {
    /// @notice keccak256(abi.encode(Validator[])) of the set that signs checkpoint `epoch`. Fixed once
    /// epoch `epoch - 1` is checkpointed: set changes made while the Ledger's last epoch is L apply from
    /// epoch L + 2 (from L + 1 only while the set for L + 1 is empty, so a network can start).
    function setHashFor(uint64 epoch) external view returns (bytes32);

    /// @notice The staker (validator account) that ever bound `signer`, or address(0). A signer stays
    /// bound to its staker for good, so evidence against old votes always finds the stake.
    function stakerOf(address signer) external view returns (address);

    /// @notice Burns `slashBps` of the staker's stake (bonded and unbonding), removes it from the set and
    /// bars it from registering again.
    function slash(address staker) external returns (uint256 burned);

    /// @notice Removes a validator that signed none of the recent checkpoints from the set (its stake
    /// starts unbonding; it may register again).
    function jail(address staker) external;
}

/// @notice What Staking reads from the Ledger: the epoch clock is the Ledger's checkpoint count.
interface IEpochClock {
    function lastEpoch() external view returns (uint64);
}
