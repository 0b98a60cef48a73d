// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title OPEN, the network's token: fixed supply, burnable (slashing burns), EIP-2612 permit.
/// @dev Plain OpenZeppelin. No vote bookkeeping: every payment, deposit and claim moves OPEN, and
/// ERC20Votes would make each of those transfers read both parties' delegates. Voting power lives in the
/// wrapper `GovernanceToken` (GOPEN) instead. There is no mint function, so the supply can only shrink.
contract OpenToken is ERC20, ERC20Burnable, ERC20Permit {
    uint256 public constant TOTAL_SUPPLY = 1_000_000_000 ether;

    constructor(address holder) ERC20("OpenLedger", "OPEN") ERC20Permit("OpenLedger") {
        _mint(holder, TOTAL_SUPPLY);
    }
}
