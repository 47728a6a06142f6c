import NIOCore

/// Matches replies to requests on one connection: the pure core of ``RedisChannelHandler``.
///
/// Redis answers commands in order, so each pipelined request waits for as many replies as it
/// sent commands, in FIFO order. RESP3 push messages are not replies and never consume a slot.
/// The queue holds no sockets and no promises' fulfilment logic, only bookkeeping, so it is
/// tested directly.
struct RedisRequestQueue<Waiter> {
    private struct Pending {
        let waiter: Waiter
        let expected: Int
        /// When the request must have its answer.
        let deadline: NIODeadline
        var replies: [RESPValue]
    }

    /// What the handler must do after a reply arrived.
    enum ReplyAction {
        /// The front request is complete: give it these replies.
        case complete(Waiter, [RESPValue])
        /// The front request needs more replies.
        case wait
        /// A reply arrived with no request waiting: the stream is out of step; close the connection.
        case unexpected
        /// An out-of-band push message; ignore it.
        case ignore
    }

    private var pending: [Pending] = []
    private var head = 0

    /// Requests waiting for replies.
    var count: Int { pending.count - head }

    var isEmpty: Bool { count == 0 }

    /// The deadline of the oldest request waiting, which every later one's is at or after.
    var frontDeadline: NIODeadline? { head < pending.count ? pending[head].deadline : nil }

    /// Registers a request that sent `commands` commands and must be answered by `deadline`.
    mutating func enqueue(_ waiter: Waiter, commands: Int, deadline: NIODeadline = .distantFuture) {
        var replies: [RESPValue] = []
        if commands > 1 { replies.reserveCapacity(commands) }
        pending.append(Pending(waiter: waiter, expected: commands, deadline: deadline, replies: replies))
    }

    /// Takes in one decoded reply.
    mutating func receive(_ value: RESPValue) -> ReplyAction {
        if case .push = value { return .ignore }
        guard head < pending.count else { return .unexpected }
        pending[head].replies.append(value)
        guard pending[head].replies.count == pending[head].expected else { return .wait }
        let done = pending[head]
        head += 1
        if head == pending.count {
            pending.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 64 && head * 2 > pending.count {
            pending.removeFirst(head)
            head = 0
        }
        return .complete(done.waiter, done.replies)
    }

    /// Removes every waiting request, to fail them.
    mutating func drain() -> [Waiter] {
        defer {
            pending.removeAll()
            head = 0
        }
        return pending[head...].map(\.waiter)
    }
}
