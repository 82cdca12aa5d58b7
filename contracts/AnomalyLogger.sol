// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title AnomalyLogger — a tamper-evident, append-only log of IoT anomalies.
/// @notice Authorised logger accounts log batches of anomalies; each anomaly
///         becomes one `AnomalyLogged` event (cheap, readable with eth_getLogs,
///         indexed by anomaly id, sensor and logger).
/// @dev Gas design (see docs/chain.md):
///      - A batch is one `bytes` argument of packed records (layout in
///        common/alog.h), parsed in assembly: no ABI decoding of string arrays.
///      - The anomaly id is computed here, keccak256 of the record's id
///        preimage (sensor 0x00 metric 0x00 ts_ms type), so an id on chain
///        always matches its content and costs no calldata.
///      - Duplicates are rejected with a per-logger sequence number that must
///        increase (as idempotent producers do): one storage slot per logger,
///        written once per batch, instead of a slot per anomaly id. Record i of
///        a batch has seq firstSeq + i; firstSeq may not skip ahead of the
///        logger's nextSeq, records with an already-used seq are skipped, and a
///        batch with nothing new reverts with Duplicate. A retried transaction
///        can therefore never log an anomaly twice.
///      - "Is id X logged?" is answered from events (eth_getLogs with topic1 =
///        X), which is free for the reader; storing ids would cost ~20,000 gas each.
contract AnomalyLogger {
    event AnomalyLogged(
        bytes32 indexed id, bytes32 indexed sensorHash, address indexed logger, uint64 seq, bytes record
    );
    event LoggerAdded(address indexed logger);
    event LoggerRemoved(address indexed logger);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    error NotOwner();
    error NotLogger();
    error SeqGap(uint64 expected, uint64 got);
    error Duplicate(uint64 nextSeq);
    error BadRecord(uint256 index);
    error BatchTooLarge();

    /// Upper bounds on input: records per batch and bytes of packed records.
    uint256 public constant MAX_BATCH = 200;
    uint256 public constant MAX_RECORD = 646; // 4 + 64 + 1 + 31 + 1 + 9 + 16 + 511
    uint256 public constant MAX_PACKED = MAX_BATCH * MAX_RECORD;

    struct Logger {
        bool authorised;
        uint64 nextSeq; // next sequence number this logger may use
        uint64 logged; // anomalies logged by this logger
    }

    address public owner;
    uint256 public totalLogged;
    mapping(address => Logger) private loggers;

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner();
        _;
    }

    /// The deployer owns the contract and is its first authorised logger.
    constructor() {
        owner = msg.sender;
        emit OwnershipTransferred(address(0), msg.sender);
        loggers[msg.sender].authorised = true;
        emit LoggerAdded(msg.sender);
    }

    function transferOwnership(address newOwner) external onlyOwner {
        require(newOwner != address(0), "zero owner");
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    function addLogger(address logger) external onlyOwner {
        loggers[logger].authorised = true;
        emit LoggerAdded(logger);
    }

    /// Removing keeps the logger's nextSeq, so a re-added logger cannot reuse seqs.
    function removeLogger(address logger) external onlyOwner {
        loggers[logger].authorised = false;
        emit LoggerRemoved(logger);
    }

    function isLogger(address logger) external view returns (bool) {
        return loggers[logger].authorised;
    }

    function nextSeq(address logger) external view returns (uint64) {
        return loggers[logger].nextSeq;
    }

    function loggedBy(address logger) external view returns (uint64) {
        return loggers[logger].logged;
    }

    /// Log the packed records; record i carries sequence number firstSeq + i.
    function logBatch(uint64 firstSeq, bytes calldata packed) external {
        Logger memory s = loggers[msg.sender];
        if (!s.authorised) revert NotLogger();
        if (firstSeq > s.nextSeq) revert SeqGap(s.nextSeq, firstSeq);
        if (packed.length > MAX_PACKED) revert BatchTooLarge();
        uint256 skip = s.nextSeq - firstSeq;
        bytes32 sig = AnomalyLogged.selector;
        bytes4 badRecord = BadRecord.selector;
        uint256 n;
        assembly ("memory-safe") {
            let p := packed.offset
            let end := add(p, packed.length)
            // Scratch beyond the free memory pointer: [seq][0x40][len][record, zero padded]
            // is exactly the ABI encoding of the event's (uint64 seq, bytes record) data.
            let mem := mload(0x40)
            let rec := add(mem, 0x60)
            for {} lt(p, end) {} {
                let hdr := shr(224, calldataload(p))
                let sl := shr(24, hdr)
                let ml := and(shr(16, hdr), 0xff)
                let el := and(hdr, 0xffff)
                let prelen := add(add(sl, ml), 11)
                let rlen := add(add(20, prelen), el)
                // bounds: 1 <= sl <= 64, 1 <= ml <= 31, el <= 511, record inside the batch
                if or(or(or(iszero(sl), gt(sl, 64)), or(iszero(ml), gt(ml, 31))), or(gt(el, 511), gt(rlen, sub(end, p)))) {
                    mstore(0, badRecord)
                    mstore(4, n)
                    revert(0, 0x24)
                }
                calldatacopy(rec, p, rlen)
                mstore(add(rec, rlen), 0)
                let pre := add(rec, 4)
                // separators are zero and the type is 0..2
                if or(or(byte(0, mload(add(pre, sl))), byte(0, mload(add(pre, add(add(sl, ml), 1))))), gt(byte(0, mload(add(pre, sub(prelen, 1)))), 2)) {
                    mstore(0, badRecord)
                    mstore(4, n)
                    revert(0, 0x24)
                }
                if iszero(lt(n, skip)) {
                    mstore(mem, add(firstSeq, n))
                    mstore(add(mem, 0x20), 0x40)
                    mstore(add(mem, 0x40), rlen)
                    log4(mem, add(0x60, and(add(rlen, 31), not(31))), sig, keccak256(pre, prelen), keccak256(pre, sl), caller())
                }
                p := add(p, rlen)
                n := add(n, 1)
            }
        }
        if (n > MAX_BATCH) revert BatchTooLarge();
        if (n <= skip) revert Duplicate(s.nextSeq);
        uint64 fresh = uint64(n - skip);
        s.nextSeq = firstSeq + uint64(n);
        s.logged += fresh;
        loggers[msg.sender] = s;
        totalLogged += fresh;
    }
}
