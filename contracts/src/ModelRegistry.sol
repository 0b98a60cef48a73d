// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {DatanetRegistry} from "./DatanetRegistry.sol";

/// @title Models on chain: artifact and adapters (IPFS CIDs), the Datanet versions they were trained on
/// (which is what attribution pays), and the price per 1,000 tokens that receipts are checked against.
/// @notice Adapters are models too. `registerAdapter` gives a LoRA adapter of a base model an entry of its
/// own in the same id space (its own owner, price, Datanet versions and CID), so whoever trained it is paid
/// for it. A base model may also still bundle adapters in `adapterCids`; those have no entry of their own.
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
        uint256 baseModelId; // 0 for a base model; for an adapter, the base it was trained against
        string artifactCid; // for an adapter: the adapter's CID
        string[] adapterCids; // adapters bundled with a base model (always empty for an adapter)
        DatanetRef[] trainedOn;
    }

    error UnknownModel(uint256 modelId);
    error NotModelOwner(uint256 modelId, address caller);
    error ModelRetired(uint256 modelId);
    error UnknownDatanetVersion(uint256 datanetId, uint32 version);
    error EmptyField();
    error UnknownBaseModel(uint256 baseModelId);
    error BaseModelRetired(uint256 baseModelId);
    error BaseIsAdapter(uint256 baseModelId);

    event ModelRegistered(uint256 indexed modelId, address indexed owner, string artifactCid);
    event AdapterRegistered(
        uint256 indexed adapterId, uint256 indexed baseModelId, address indexed owner, string adapterCid
    );
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
        _recordTrainedOn(m, trainedOn);
        emit ModelRegistered(modelId, msg.sender, artifactCid);
        emit PriceUpdated(modelId, pricePerKInput, pricePerKOutput);
    }

    /// @notice Registers a LoRA adapter of `baseModelId`, owned by the caller. Anyone may publish an adapter
    /// for any live base model, without the base owner's consent: that is the point of OpenLoRA (one served
    /// base, many adapters by many people), and the base owner loses nothing by it, since a request through
    /// an adapter still pays the base model's share of the fee split. The base must exist, must not be
    /// retired and must not itself be an adapter (adapters do not stack). `trainedOn` names the Datanet
    /// versions the adapter was trained on; they must exist, as for `registerModel`.
    /// @return adapterId from the models' id space (ids start at 1)
    function registerAdapter(
        uint256 baseModelId,
        string calldata adapterCid,
        DatanetRef[] calldata trainedOn,
        uint128 pricePerKInput,
        uint128 pricePerKOutput
    ) external returns (uint256 adapterId) {
        if (bytes(adapterCid).length == 0) revert EmptyField();
        Model storage base = _models[baseModelId];
        if (base.owner == address(0)) revert UnknownBaseModel(baseModelId);
        if (base.retired) revert BaseModelRetired(baseModelId);
        if (base.baseModelId != 0) revert BaseIsAdapter(baseModelId);
        adapterId = ++modelCount;
        Model storage m = _models[adapterId];
        m.owner = msg.sender;
        m.baseModelId = baseModelId;
        m.artifactCid = adapterCid;
        m.pricePerKInput = pricePerKInput;
        m.pricePerKOutput = pricePerKOutput;
        _recordTrainedOn(m, trainedOn);
        emit AdapterRegistered(adapterId, baseModelId, msg.sender, adapterCid);
        emit PriceUpdated(adapterId, pricePerKInput, pricePerKOutput);
    }

    /// @notice Owner only, for base models and adapters alike; not once retired.
    function updatePrice(uint256 modelId, uint128 pricePerKInput, uint128 pricePerKOutput) external {
        Model storage m = _owned(modelId);
        m.pricePerKInput = pricePerKInput;
        m.pricePerKOutput = pricePerKOutput;
        emit PriceUpdated(modelId, pricePerKInput, pricePerKOutput);
    }

    /// @notice Retiring is final: validators stop accepting receipts for the model. Retiring a base model
    /// also makes every adapter of it unservable (see `isServable`), without touching the adapters' own
    /// entries: their owners cannot bring them back, since a retired base stays retired.
    function retire(uint256 modelId) external {
        Model storage m = _owned(modelId);
        m.retired = true;
        emit Retired(modelId);
    }

    /// @notice For an adapter, `baseModelId` is its base and `artifactCid` its own CID; 0 for a base model.
    function getModel(uint256 modelId) external view returns (Model memory) {
        Model storage m = _models[modelId];
        if (m.owner == address(0)) revert UnknownModel(modelId);
        return m;
    }

    /// @notice Whether requests for `modelId` may be served and paid: the entry exists and is not retired,
    /// and, for an adapter, its base is not retired either. False for an id that was never registered.
    function isServable(uint256 modelId) external view returns (bool) {
        Model storage m = _models[modelId];
        if (m.owner == address(0) || m.retired) return false;
        return m.baseModelId == 0 || !_models[m.baseModelId].retired;
    }

    /// Attribution pays the contributors of these versions, so they must exist.
    function _recordTrainedOn(Model storage m, DatanetRef[] calldata trainedOn) private {
        for (uint256 i; i < trainedOn.length; ++i) {
            DatanetRef calldata ref = trainedOn[i];
            if (!datanets.versionExists(ref.datanetId, ref.version)) {
                revert UnknownDatanetVersion(ref.datanetId, ref.version);
            }
            m.trainedOn.push(ref);
        }
    }

    function _owned(uint256 modelId) private view returns (Model storage m) {
        m = _models[modelId];
        if (m.owner == address(0)) revert UnknownModel(modelId);
        if (m.owner != msg.sender) revert NotModelOwner(modelId, msg.sender);
        if (m.retired) revert ModelRetired(modelId);
    }
}
