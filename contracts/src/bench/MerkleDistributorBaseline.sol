// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title Benchmark baseline only: Uniswap's MerkleDistributor (one-time claims, a bitmap of claimed
/// indexes, immutable root), so the gas benchmark measures our cumulative claim against it on the same
/// chain, token and tree size.
contract MerkleDistributorBaseline {
    using SafeERC20 for IERC20;

    error AlreadyClaimed();
    error InvalidProof();

    IERC20 public immutable token;
    bytes32 public immutable merkleRoot;
    mapping(uint256 => uint256) private claimedBitMap;

    constructor(IERC20 token_, bytes32 merkleRoot_) {
        token = token_;
        merkleRoot = merkleRoot_;
    }

    function claim(uint256 index, address account, uint256 amount, bytes32[] calldata merkleProof) external {
        uint256 word = index / 256;
        uint256 bit = 1 << (index % 256);
        if (claimedBitMap[word] & bit != 0) revert AlreadyClaimed();
        bytes32 node = keccak256(abi.encodePacked(index, account, amount));
        if (!MerkleProof.verifyCalldata(merkleProof, merkleRoot, node)) revert InvalidProof();
        claimedBitMap[word] |= bit;
        token.safeTransfer(account, amount);
    }
}
