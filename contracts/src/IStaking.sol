// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @notice One entry of the active validator set, as the Ledger receives it in calldata.
/// @dev `stake` fits uint96: OPEN's whole supply (1e27 wei) is below 2^96 (7.9e28).
struct Validator {
    address signer;
    uint96 stake;
}

/// @notice What the Ledger needs from Staking.
interface IStaking {
    /// @notice keccak256(abi.encode(Validator[])) of the active set, in the order `activeValidators` returns.
    function validatorSetHash() external view returns (bytes32);

    /// @notice The staker (validator account) that bound `signer`, or address(0).
    function stakerOf(address signer) external view returns (address);

    /// @notice Burns `slashBps` of the staker's stake (bonded and unbonding) and removes it from the set.
    function slash(address staker) external returns (uint256 burned);
}
