// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {DatanetRegistry} from "./DatanetRegistry.sol";

/// @title Models on chain: artifact and adapters (IPFS CIDs), the Datanet versions they were trained on
/// (which is what attribution pays), and the price per 1,000 tokens that receipts are checked against.
contract ModelRegistry {
    struct DatanetRef {
        uint256 datanetId;
        uint32 version;
    }

    struct Model {
        address owner;
        bool retired;
        uint128 pricePerKInput; // wei of OPEN per 1,000 input tokens
        uint128 pricePerKOutput; // wei of OPEN per 1,000 output tokens
        string artifactCid;
        string[] adapterCids;
        DatanetRef[] trainedOn;
    }

    error UnknownModel(uint256 modelId);
    error NotModelOwner(uint256 modelId, address caller);
    error ModelRetired(uint256 modelId);
    error UnknownDatanetVersion(uint256 datanetId, uint32 version);
    error EmptyField();

    event ModelRegistered(uint256 indexed modelId, address indexed owner, string artifactCid);
    event PriceUpdated(uint256 indexed modelId, uint128 pricePerKInput, uint128 pricePerKOutput);
    event Retired(uint256 indexed modelId);

    DatanetRegistry public immutable datanets;
    uint256 public modelCount;
    mapping(uint256 modelId => Model) private _models;

    constructor(DatanetRegistry datanets_) {
        datanets = datanets_;
    }

    /// @return modelId starts at 1
    function registerModel(
        string calldata artifactCid,
        string[] calldata adapterCids,
        DatanetRef[] calldata trainedOn,
        uint128 pricePerKInput,
        uint128 pricePerKOutput
    ) external returns (uint256 modelId) {
        if (bytes(artifactCid).length == 0) revert EmptyField();
        modelId = ++modelCount;
        Model storage m = _models[modelId];
        m.owner = msg.sender;
        m.artifactCid = artifactCid;
        m.pricePerKInput = pricePerKInput;
        m.pricePerKOutput = pricePerKOutput;
        for (uint256 i; i < adapterCids.length; ++i) {
            if (bytes(adapterCids[i]).length == 0) revert EmptyField();
            m.adapterCids.push(adapterCids[i]);
        }
        // Attribution pays the contributors of these versions, so they must exist.
        for (uint256 i; i < trainedOn.length; ++i) {
            DatanetRef calldata ref = trainedOn[i];
            if (!datanets.versionExists(ref.datanetId, ref.version)) {
                revert UnknownDatanetVersion(ref.datanetId, ref.version);
            }
            m.trainedOn.push(ref);
        }
        emit ModelRegistered(modelId, msg.sender, artifactCid);
        emit PriceUpdated(modelId, pricePerKInput, pricePerKOutput);
    }

    function updatePrice(uint256 modelId, uint128 pricePerKInput, uint128 pricePerKOutput) external {
        Model storage m = _owned(modelId);
        m.pricePerKInput = pricePerKInput;
        m.pricePerKOutput = pricePerKOutput;
        emit PriceUpdated(modelId, pricePerKInput, pricePerKOutput);
    }

    /// @notice Retiring is final: validators stop accepting receipts for the model.
    function retire(uint256 modelId) external {
        Model storage m = _owned(modelId);
        m.retired = true;
        emit Retired(modelId);
    }

    function getModel(uint256 modelId) external view returns (Model memory) {
        Model storage m = _models[modelId];
        if (m.owner == address(0)) revert UnknownModel(modelId);
        return m;
    }

    function _owned(uint256 modelId) private view returns (Model storage m) {
        m = _models[modelId];
        if (m.owner == address(0)) revert UnknownModel(modelId);
        if (m.owner != msg.sender) revert NotModelOwner(modelId, msg.sender);
        if (m.retired) revert ModelRetired(modelId);
    }
}
