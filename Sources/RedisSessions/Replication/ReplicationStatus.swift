public import Sessions

/// Where a ``RedisReplicator`` stands.
public struct ReplicationStatus: Sendable, Hashable {
    /// The replicator's name: its cursor in `replication_cursors` and its marker in Redis.
    public var name: String
    /// The last change-log entry applied to Redis.
    public var appliedSequence: Int64
    /// The newest change-log entry seen locally.
    public var latestSequence: Int64
    /// Whether the last attempt to reach Redis succeeded.
    public var redisReachable: Bool
    /// The last failure, cleared by the next success.
    public var lastError: String?
    /// When a batch was last applied.
    public var lastAppliedAt: SessionInstant?
    /// Changes applied since the replicator started.
    public var changesApplied: Int
    /// Full copies of the local sessions made because Redis had lost what was applied.
    public var resyncs: Int
    /// Median time from a change being committed locally to it being in Redis, over recent changes.
    public var lagP50: Duration?
    /// 99th percentile of the same.
    public var lagP99: Duration?

    /// Changes committed locally and not yet in Redis.
    public var backlog: Int64 { max(0, latestSequence - appliedSequence) }
}
