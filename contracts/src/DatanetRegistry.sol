// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Datanets on chain: who owns each one, who curates it, and the root of every published version.
/// @notice Contributions live in IPFS; a version records the manifest CID and the Merkle root of the
/// accepted contributions, so anyone can prove a contribution was part of the version a model trained on.
contract DatanetRegistry {
    struct Datanet {
        address owner;
        uint32 versionCount;
        string metadataCid;
        string contributionType; // e.g. "text", "code": what a contribution holds
    }

    struct Version {
        string manifestCid;
        bytes32 contributionsRoot;
        uint64 contributionCount;
        uint64 publishedAt;
        address publisher;
    }

    error UnknownDatanet(uint256 datanetId);
    error UnknownVersion(uint256 datanetId, uint32 version);
    error NotOwner(uint256 datanetId, address caller);
    error NotCurator(uint256 datanetId, address caller);
    error EmptyField();
    /// @dev the caller built its version on a Datanet state that has moved on (someone published first)
    error VersionConflict(uint256 datanetId, uint32 expectedVersion, uint32 nextVersion);

    event DatanetCreated(uint256 indexed datanetId, address indexed owner, string metadataCid, string contributionType);
    event CuratorSet(uint256 indexed datanetId, address indexed curator, bool allowed);
    event VersionPublished(
        uint256 indexed datanetId,
        uint32 indexed version,
        string manifestCid,
        bytes32 contributionsRoot,
        uint64 contributionCount
    );

    uint256 public datanetCount;
    mapping(uint256 datanetId => Datanet) private _datanets;
    mapping(uint256 datanetId => mapping(address => bool)) public isCurator;
    mapping(uint256 datanetId => mapping(uint32 version => Version)) private _versions;

    /// @return datanetId starts at 1, so 0 never names a Datanet
    function createDatanet(string calldata metadataCid, string calldata contributionType, address[] calldata curators)
        external
        returns (uint256 datanetId)
    {
        if (bytes(metadataCid).length == 0 || bytes(contributionType).length == 0) revert EmptyField();
        datanetId = ++datanetCount;
        Datanet storage d = _datanets[datanetId];
        d.owner = msg.sender;
        d.metadataCid = metadataCid;
        d.contributionType = contributionType;
        emit DatanetCreated(datanetId, msg.sender, metadataCid, contributionType);
        for (uint256 i; i < curators.length; ++i) {
            isCurator[datanetId][curators[i]] = true;
            emit CuratorSet(datanetId, curators[i], true);
        }
    }

    function setCurator(uint256 datanetId, address curator, bool allowed) external {
        if (_existing(datanetId).owner != msg.sender) revert NotOwner(datanetId, msg.sender);
        isCurator[datanetId][curator] = allowed;
        emit CuratorSet(datanetId, curator, allowed);
    }

    /// @notice Publishes the next version; only the owner or a curator may.
    /// @param expectedVersion the number this version gets (versionCount + 1 when the caller built it): a
    /// manifest lists the previous version's contributions, so one built on a stale version must not land.
    function publishVersion(
        uint256 datanetId,
        uint32 expectedVersion,
        string calldata manifestCid,
        bytes32 contributionsRoot,
        uint64 contributionCount
    ) external returns (uint32 version) {
        Datanet storage d = _existing(datanetId);
        if (d.owner != msg.sender && !isCurator[datanetId][msg.sender]) revert NotCurator(datanetId, msg.sender);
        if (bytes(manifestCid).length == 0) revert EmptyField();
        if (expectedVersion != d.versionCount + 1) {
            revert VersionConflict(datanetId, expectedVersion, d.versionCount + 1);
        }
        version = ++d.versionCount;
        _versions[datanetId][version] =
            Version(manifestCid, contributionsRoot, contributionCount, uint64(block.timestamp), msg.sender);
        emit VersionPublished(datanetId, version, manifestCid, contributionsRoot, contributionCount);
    }

    function getDatanet(uint256 datanetId) external view returns (Datanet memory) {
        return _existing(datanetId);
    }

    /// @param version 1-based
    function getVersion(uint256 datanetId, uint32 version) external view returns (Version memory) {
        if (!versionExists(datanetId, version)) revert UnknownVersion(datanetId, version);
        return _versions[datanetId][version];
    }

    function versionExists(uint256 datanetId, uint32 version) public view returns (bool) {
        return version != 0 && version <= _datanets[datanetId].versionCount;
    }

    function _existing(uint256 datanetId) private view returns (Datanet storage d) {
        d = _datanets[datanetId];
        if (d.owner == address(0)) revert UnknownDatanet(datanetId);
    }
}
