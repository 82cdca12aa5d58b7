// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title AnomalyLogger — a tamper-evident, append-only log of IoT anomalies.
/// @notice Authorised logger accounts log batches of anomalies; each anomaly
///         becomes one `Recorded` event (cheap, readable with eth_getLogs,
///         indexed by anomaly id and logger).
/// @dev Gas design (see docs/chain.md):
///      - A batch is one `bytes` argument of packed records (layout in
///        common/eth/anomaly_log.h), parsed in assembly: no ABI decoding of
///        string arrays. Two record kinds: an anomaly (first byte, the
///        sensor length, 1..64) and an alarm lifecycle event (first bytes
///        0x00 0x01; its id preimage ends in an event code 0x10..0x1f).
///        Both are emitted as Recorded and are leaves of the batch tree
///        alike.
///      - Recorded's data is packed, not ABI-encoded: the record as sent,
///        then its seq big-endian in as few bytes as the batch needs. ABI framing (seq word, offset,
///        length, padding) cost ~100 bytes of log data per record at 8 gas
///        a byte. Earlier versions emitted AnomalyLogged(id, sensorHash,
///        logger, uint64 seq, bytes record), then RecordLogged(id,
///        sensorHash, logger) with packed data; common/eth/anomaly_log.c
///        reads all three.
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
///      - "Is id X logged?" on chain: each batch stores one Merkle root over
///        the ids it logged (one 20,000-gas slot per batch, not per id), and
///        `isLogged(id, batch, proof)` checks a proof against it. The batch of
///        an id is found from events (`Recorded` by id, then the
///        `BatchLogged` of the same transaction).
///
///      The batch tree (mirrored by common/merkle.c):
///        leaves   the ids of the records this batch actually logged (the
///                 fresh ones; skipped duplicates are not leaves), in seq order
///        node     keccak256(min(a, b) ++ max(a, b) ++ 0xff): children sorted
///                 as uint256, so a proof needs no left/right flags
///        levels   built bottom-up, pairing nodes 0-1, 2-3, ...; an odd last
///                 node is promoted unchanged to the next level
///        root     the single node left; for one record, the id itself
///      The trailing 0xff byte keeps nodes and ids apart: an id is the
///      keccak256 of a preimage whose last byte is the anomaly type (0..2) or
///      an alarm event code (0x10..0x1f, see the record checks below), a
///      node's preimage ends in 0xff, so no inner
///      node can pass for the id of a well-formed record (barring a Keccak
///      collision), and a proof cannot be shortened by starting from one.
contract AnomalyLogger {
    /// One per fresh record. Data (not in the ABI: packed): the record
    /// (common/eth/anomaly_log.h) followed by its seq, big-endian in the
    /// fewest bytes (1..8) that hold every seq of its batch. No sensor topic (375 gas a record): readers filter by sensor from the
    /// record itself. Earlier versions emitted RecordLogged(id, sensorHash,
    /// logger) with the same data; common/eth/anomaly_log.c reads both.
    event Recorded(bytes32 indexed id, address indexed logger);
    /// One per logBatch: batch number, the logger, the seq of its first fresh
    /// record, how many records it logged and the Merkle root over their ids.
    event BatchLogged(uint256 indexed batch, address indexed logger, uint64 firstSeq, uint32 count, bytes32 root);
    event LoggerAdded(address indexed logger);
    event LoggerRemoved(address indexed logger);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);

    error NotOwner();
    error NotPendingOwner();
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

    /// Both counters live in one slot, written once per batch.
    struct Totals {
        uint128 logged; // anomalies logged by all loggers
        uint128 batches; // batches logged (batch numbers are 0 .. batches - 1)
    }

    address public owner;
    /// Set by transferOwnership; becomes the owner only when it calls acceptOwnership.
    address public pendingOwner;
    Totals private totals;
    mapping(address => Logger) private loggers;
    mapping(uint256 => bytes32) private roots; // batch number => Merkle root of its ids

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner();
        _;
    }

    /// The deployer owns the contract; `logger` is its first authorised
    /// logger (none when zero). Keep them apart: the owner key can add
    /// loggers and hand the contract over, so it should stay offline, while
    /// the logger key signs around the clock (docs/chain.md, "Keys").
    constructor(address logger) {
        owner = msg.sender;
        emit OwnershipTransferred(address(0), msg.sender);
        if (logger != address(0)) {
            loggers[logger].authorised = true;
            emit LoggerAdded(logger);
        }
    }

    /// Step one of two: name the next owner (zero cancels a pending transfer).
    /// Nothing changes until `newOwner` calls acceptOwnership, so a mistyped
    /// address cannot take the contract out of reach.
    function transferOwnership(address newOwner) external onlyOwner {
        pendingOwner = newOwner;
        emit OwnershipTransferStarted(owner, newOwner);
    }

    /// Step two: the pending owner takes over.
    function acceptOwnership() external {
        if (msg.sender != pendingOwner) revert NotPendingOwner();
        emit OwnershipTransferred(owner, msg.sender);
        owner = msg.sender;
        pendingOwner = address(0);
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

    function totalLogged() external view returns (uint256) {
        return totals.logged;
    }

    function batchCount() external view returns (uint256) {
        return totals.batches;
    }

    /// The Merkle root of batch `batch` (zero for a batch that does not exist).
    function batchRoot(uint256 batch) external view returns (bytes32) {
        return roots[batch];
    }

    /// Whether `id` is one of the anomalies logged in batch `batch`: folds
    /// `proof` (the sibling of each level, bottom-up, promoted levels omitted)
    /// into the id with the node hash above and compares with the stored
    /// root. Anyone can call it; it reads one storage slot.
    function isLogged(bytes32 id, uint256 batch, bytes32[] calldata proof) external view returns (bool) {
        bytes32 root = roots[batch];
        if (root == 0) return false;
        bytes32 h = id;
        for (uint256 i = 0; i < proof.length; ++i) {
            bytes32 p = proof[i];
            assembly ("memory-safe") {
                let lo := h
                let hi := p
                if gt(lo, hi) {
                    lo := p
                    hi := h
                }
                let m := mload(0x40) // scratch beyond the free memory pointer
                mstore(m, lo)
                mstore(add(m, 0x20), hi)
                mstore8(add(m, 0x40), 0xff)
                h := keccak256(m, 0x41)
            }
        }
        return h == root;
    }

    /// Log the packed records; record i carries sequence number firstSeq + i.
    /// Emits one Recorded per fresh record, then BatchLogged with the
    /// Merkle root over the fresh ids, which it stores as the next batch.
    function logBatch(uint64 firstSeq, bytes calldata packed) external {
        Logger memory s = loggers[msg.sender];
        if (!s.authorised) revert NotLogger();
        if (firstSeq > s.nextSeq) revert SeqGap(s.nextSeq, firstSeq);
        if (packed.length > MAX_PACKED) revert BatchTooLarge();
        uint256 skip = s.nextSeq - firstSeq;
        bytes32 sig = Recorded.selector;
        bytes4 badRecord = BadRecord.selector;
        bytes4 tooLarge = BatchTooLarge.selector;
        uint256 n;
        bytes32 root;
        assembly ("memory-safe") {
            let p := packed.offset
            let end := add(p, packed.length)
            // Scratch beyond the free memory pointer: [record][seq, k bytes] is the
            // Recorded event's data, packed (no ABI framing, 8 gas a byte): the seq
            // big-endian in the fewest bytes seqLen (1..8) that hold every seq of this
            // batch, so readers find it after the record (whose header gives its
            // length). The fresh ids follow at ids (record + 32 <= 678 bytes < 0x320).
            let mem := mload(0x40)
            let rec := mem
            let ids := add(mem, 0x320)
            let fresh := 0
            let seqLen := 1
            for { let top := shr(8, add(firstSeq, MAX_BATCH)) } top { top := shr(8, top) } { seqLen := add(seqLen, 1) }
            let seqShift := sub(256, shl(3, seqLen))
            for {} lt(p, end) {} {
                if eq(n, MAX_BATCH) {
                    mstore(0, tooLarge)
                    revert(0, 4)
                }
                let sl := byte(0, calldataload(p))
                let pre
                let prelen
                let rlen
                switch sl
                case 0 {
                    // Record kind 0x01, an alarm lifecycle event:
                    // 0x00 0x01 sl ml al bl | sensor 0 metric 0 alarmId 0 at(8) code | by
                    let hdr := shr(208, calldataload(p))
                    sl := and(shr(24, hdr), 0xff)
                    let ml := and(shr(16, hdr), 0xff)
                    let al := and(shr(8, hdr), 0xff)
                    prelen := add(add(add(sl, ml), al), 12)
                    rlen := add(add(6, prelen), and(hdr, 0xff))
                    // bounds: kind 1, 1 <= sl <= 64, 1 <= ml <= 31, 1 <= al <= 64, bl <= 64, inside the batch
                    if or(
                        or(iszero(eq(shr(32, hdr), 1)), or(iszero(sl), gt(sl, 64))),
                        or(or(or(iszero(ml), gt(ml, 31)), or(iszero(al), gt(al, 64))), or(gt(and(hdr, 0xff), 64), gt(rlen, sub(end, p))))
                    ) {
                        mstore(0, badRecord)
                        mstore(4, n)
                        revert(0, 0x24)
                    }
                    calldatacopy(rec, p, rlen)
                    pre := add(rec, 6)
                    // separators are zero and the event code is 0x10..0x1f
                    let code := byte(0, mload(add(pre, sub(prelen, 1))))
                    if or(
                        or(byte(0, mload(add(pre, sl))), byte(0, mload(add(pre, add(add(sl, ml), 1))))),
                        or(byte(0, mload(add(pre, add(add(add(sl, ml), al), 2)))), or(lt(code, 0x10), gt(code, 0x1f)))
                    ) {
                        mstore(0, badRecord)
                        mstore(4, n)
                        revert(0, 0x24)
                    }
                }
                default {
                    // An anomaly record: sl ml w(2) | sensor 0 metric 0 ts(8) type | tail.
                    // w < 0x8000: el, the tail is value(8) score(8) expl(el <= 511);
                    // w >= 0x8000 (compact numbers): bits 0..9 the tail's length
                    // (<= 527), bit 10 zero; its content is checked by readers.
                    let hdr := shr(224, calldataload(p))
                    let ml := and(shr(16, hdr), 0xff)
                    let w := and(hdr, 0xffff)
                    let tl := add(w, 16)
                    let badw := gt(w, 511)
                    if shr(15, w) {
                        tl := and(w, 0x3ff)
                        badw := or(and(w, 0x0400), gt(tl, 527))
                    }
                    prelen := add(add(sl, ml), 11)
                    rlen := add(add(4, prelen), tl)
                    // bounds: 1 <= sl <= 64, 1 <= ml <= 31, w as above, record inside the batch
                    if or(or(gt(sl, 64), or(iszero(ml), gt(ml, 31))), or(badw, gt(rlen, sub(end, p)))) {
                        mstore(0, badRecord)
                        mstore(4, n)
                        revert(0, 0x24)
                    }
                    calldatacopy(rec, p, rlen)
                    pre := add(rec, 4)
                    // separators are zero and the type is 0..2
                    if or(or(byte(0, mload(add(pre, sl))), byte(0, mload(add(pre, add(add(sl, ml), 1))))), gt(byte(0, mload(add(pre, sub(prelen, 1)))), 2)) {
                        mstore(0, badRecord)
                        mstore(4, n)
                        revert(0, 0x24)
                    }
                }
                if iszero(lt(n, skip)) {
                    let id := keccak256(pre, prelen)
                    mstore(add(ids, shl(5, fresh)), id)
                    fresh := add(fresh, 1)
                    mstore(add(rec, rlen), shl(seqShift, add(firstSeq, n))) // the seq after the record
                    log3(mem, add(rlen, seqLen), sig, id, caller())
                }
                p := add(p, rlen)
                n := add(n, 1)
            }
            // Merkle root over the fresh ids, in place (the tree is defined at the top):
            // node k of the next level overwrites slot k, which is already consumed.
            mstore8(add(mem, 0x40), 0xff)
            for { let w := fresh } gt(w, 1) {} {
                let half := shr(1, w)
                for { let k := 0 } lt(k, half) { k := add(k, 1) } {
                    let a := mload(add(ids, shl(6, k)))
                    let b := mload(add(ids, add(shl(6, k), 0x20)))
                    if gt(a, b) {
                        let t := a
                        a := b
                        b := t
                    }
                    mstore(mem, a)
                    mstore(add(mem, 0x20), b)
                    mstore(add(ids, shl(5, k)), keccak256(mem, 0x41))
                }
                if and(w, 1) { mstore(add(ids, shl(5, half)), mload(add(ids, shl(5, sub(w, 1))))) }
                w := sub(w, half)
            }
            root := mload(ids)
        }
        if (n <= skip) revert Duplicate(s.nextSeq);
        uint64 fresh = uint64(n - skip);
        s.nextSeq = firstSeq + uint64(n);
        s.logged += fresh;
        loggers[msg.sender] = s;
        Totals memory t = totals;
        uint256 batch = t.batches;
        t.logged += fresh;
        t.batches += 1;
        totals = t;
        roots[batch] = root;
        emit BatchLogged(batch, msg.sender, firstSeq + uint64(skip), uint32(fresh), root);
    }
}
