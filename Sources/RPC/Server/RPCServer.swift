package import CRMModel
package import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The JSON-RPC 2.0 server on stdin and stdout.
///
/// Each line is read, parsed and answered on its own task, so a slow send never holds up a
/// `health`; at most `maxInFlight` requests run at once, and one over that is refused with -32005
/// before anything is done for it, or, with `waitWhenFull`, not read until one finishes: the pipe
/// fills and the client's writes wait, so a client piping thousands of requests gets every answer.
///
/// What is read is bounded by what has been written, too: once `maxUnwrittenAnswers` answers are
/// owed (running, or waiting for stdout), reading stops until some are out. A client that stops
/// reading stdout, or sends batch after batch of invalid members (answered at once, with no place
/// under `maxInFlight`), fills its own pipe instead of the sidecar's memory. So a client must read
/// while it writes: one that writes thousands of requests before it reads any answer waits forever.
///
/// Every request it reads gets exactly one response, however the sidecar stops:
/// - At end of input it lets what is in flight finish, then waits (at most `shutdownGrace`) for the
///   sends those requests started, so their notifications are written, and returns once every line is out.
/// - On graceful shutdown (SIGTERM, SIGINT) it starts nothing new: it keeps reading, answering each new
///   request -32006, until end of input or until the grace is nearly over, then finishes as above.
package final class RPCServer: Sendable {
    package struct Limits: Sendable {
        package var maxLineLength: Int
        package var maxInFlight: Int
        package var maxDepth: Int
        /// At the limit, stop reading instead of refusing (WHEN_MAX_IN_FLIGHT=wait).
        package var waitWhenFull: Bool
        /// Answers owed before reading stops: a batch counts one per member. A line that owes more
        /// (a batch of 10,000) is read once nothing else is owed. About 3 KB each at most, while
        /// the client reads; far above what a client that reads its answers ever has owed.
        package var maxUnwrittenAnswers: Int

        package init(
            maxLineLength: Int = 1 << 20, maxInFlight: Int = 64, maxDepth: Int = 64, waitWhenFull: Bool = false, maxUnwrittenAnswers: Int = 1024
        ) {
            self.maxLineLength = maxLineLength
            self.maxInFlight = maxInFlight
            self.maxDepth = maxDepth
            self.waitWhenFull = waitWhenFull
            self.maxUnwrittenAnswers = maxUnwrittenAnswers
        }
    }

    /// The requests running and the answers owed, with whoever waits for a place among either: one
    /// lock, so a finish cannot slip between a look and a wait.
    private struct Running {
        var count = 0
        /// Waiting for a place to run (WHEN_MAX_IN_FLIGHT=wait), first come first served: the reader,
        /// or a batch taking places for its members one by one.
        var waiting: [CheckedContinuation<Void, Never>] = []
        var unwritten = 0
        /// The reader, waiting until `needed` more answers may be owed.
        var reader: (continuation: CheckedContinuation<Void, Never>, needed: Int)?
    }

    private let methods: MethodTable
    private let context: MethodContext
    private let notifications: NotificationSink
    private let limits: Limits
    private let parser: RPCParser
    private let shutdownGrace: Duration
    private let finishStartedWork: @Sendable (Duration) async -> Void
    private let logger: Logger
    private let inFlight = Mutex(Running())
    /// Set when a graceful shutdown begins: what is read from then on is refused (-32006); what was
    /// read before is answered as usual.
    private let stopping = Mutex(false)

    /// - Parameters:
    ///   - shutdownGrace: how long a stop may take (SHUTDOWN_GRACE_SECONDS).
    ///   - finishStartedWork: returns once the sends that requests started have finished, or after
    ///     the given time.
    package init(
        methods: MethodTable, context: MethodContext, notifications: NotificationSink, limits: Limits,
        shutdownGrace: Duration = .seconds(10), finishStartedWork: @escaping @Sendable (Duration) async -> Void = { _ in },
        logger: Logger
    ) {
        self.methods = methods
        self.context = context
        self.notifications = notifications
        self.limits = limits
        self.parser = RPCParser(maxDepth: limits.maxDepth)
        self.shutdownGrace = shutdownGrace
        self.finishStartedWork = finishStartedWork
        self.logger = logger
    }

    /// Serves until end of input (or the end of a graceful shutdown's reading window); `ready` is sent
    /// first, once stdout is open.
    package func run(ready: RPCNotification<JSONValue>? = nil) async throws {
        let stdio = try await StdioChannel.open(maxLineLength: limits.maxLineLength)
        let channel = stdio.channel
        try await channel.executeThenClose { inbound, outbound in
            let output = RPCOutput(writer: outbound, logger: logger)
            await notifications.attach(output)
            if let ready { await output.send(ready) }
            await withDiscardingTaskGroup { group in
                await withGracefulShutdownHandler {
                    do {
                        for try await frame in inbound {
                            await accept(frame, output: output, group: &group)
                        }
                    } catch {
                        logger.error("reading stdin failed; finishing what is in flight", metadata: ["error": "\(error)"])
                    }
                } onGracefulShutdown: {
                    self.stopping.withLock { $0 = true }
                    self.logger.info("stopping: new requests are answered -32006 until input ends or the grace is nearly over")
                    // Reading goes on so that what the workflow wrote before the signal is answered;
                    // it ends a moment before the service group's grace runs out, leaving time to
                    // finish and write the last lines.
                    let window = max(self.shutdownGrace - .seconds(1), self.shutdownGrace / 2)
                    Task {
                        try? await Task.sleep(until: ContinuousClock.now + window)
                        try? await channel.channel.close(mode: .input)
                    }
                }
                logger.info("stopped reading input; finishing requests in flight")
            }
            // The requests are answered; the sends they started may still be under way, and the
            // workflow should hear how they ended before stdout closes. A stop by signal is already
            // bounded by the service group's grace; the end of input by the same grace from here.
            await finishStartedWork(shutdownGrace)
            await notifications.attach(nil)
            // Writes complete in order: once this empty one is done, every answer before it is out.
            try? await channel.channel.writeAndFlush(ByteBuffer())
        }
        stdio.finish()
    }

    private func accept(_ frame: InboundFrame, output: RPCOutput, group: inout DiscardingTaskGroup) async {
        let bytes: [UInt8]
        switch frame {
        case .oversized(let limit):
            let error = RPCError.invalidRequest("the line is longer than the limit of \(limit) bytes (MAX_LINE_BYTES); it was skipped")
            await owe(1)
            group.addTask { await output.send(RPCResponse.error(error, id: .null)); self.written(1) }
            return
        case .line(let line):
            bytes = line
        }
        switch parser.parse(bytes) {
        case .blank:
            return
        case .unreadable(let error):
            await owe(1)
            group.addTask { await output.send(RPCResponse.error(error, id: .null)); self.written(1) }
        case .single(let message):
            await owe(1)
            // Whether it was read before a stop began, not whether it got its place before.
            let refused = stopping.withLock { $0 }
            let admitted: Bool
            if !message.isRequest {
                admitted = false
            } else if limits.waitWhenFull {
                await placeToRun()
                admitted = true
            } else {
                admitted = admit(count: 1) == 1
            }
            group.addTask {
                if let response = await self.respond(to: message, admitted: admitted, refused: refused) {
                    await output.send(response)
                }
                self.written(1)
            }
        case .batch(let messages):
            await owe(messages.count)
            let refused = stopping.withLock { $0 }
            if limits.waitWhenFull {
                // Each member runs as it gets its place; reading resumes once the last one has.
                await withCheckedContinuation { (allAdmitted: CheckedContinuation<Void, Never>) in
                    group.addTask { await self.answer(messages, admission: .waiting(allAdmitted), refused: refused, output: output) }
                }
            } else {
                var available = admit(count: messages.count(where: \.isRequest))
                let admissions = messages.map { message -> Bool in
                    guard message.isRequest, available > 0 else { return false }
                    available -= 1
                    return true
                }
                group.addTask { await self.answer(messages, admission: .decided(admissions), refused: refused, output: output) }
            }
        }
    }

    /// How a batch's members got their places: all decided when it was read (refused beyond the
    /// free ones), or each waited for in turn, with the reader told once the last has one.
    private enum BatchAdmission {
        case decided([Bool])
        case waiting(CheckedContinuation<Void, Never>)
    }

    /// Answers a batch as one array. An invalid member is answered where it stands: a task each for
    /// 10,000 of them was most of a batch's memory.
    private func answer(_ messages: [IncomingMessage], admission: BatchAdmission, refused: Bool, output: RPCOutput) async {
        var responses = [RPCResponse?](repeating: nil, count: messages.count)
        await withTaskGroup(of: (Int, RPCResponse?).self) { members in
            for (index, message) in messages.enumerated() {
                guard message.isRequest else {
                    if case .invalid(let error, let id) = message { responses[index] = .error(error, id: id) }
                    continue
                }
                let admitted: Bool
                switch admission {
                case .decided(let admissions): admitted = admissions[index]
                case .waiting: await placeToRun(); admitted = true
                }
                members.addTask { (index, await self.respond(to: message, admitted: admitted, refused: refused)) }
            }
            if case .waiting(let allAdmitted) = admission { allAdmitted.resume() }
            for await (index, response) in members { responses[index] = response }
        }
        let answers = responses.compactMap { $0 }
        // A batch of notifications only gets no answer at all, as the specification says.
        if !answers.isEmpty { await output.send(answers) }
        written(messages.count)
    }

    /// Takes up to `count` places among the requests in flight; returns how many it got.
    private func admit(count: Int) -> Int {
        inFlight.withLock { running in
            let granted = max(0, min(count, limits.maxInFlight - running.count))
            running.count += granted
            return granted
        }
    }

    /// Returns holding a place to run: at once below the limit, else when a request finishes and
    /// hands its place on, to the longest waiting first.
    private func placeToRun() async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let free = inFlight.withLock { running in
                if running.count < limits.maxInFlight {
                    running.count += 1
                    return true
                }
                running.waiting.append(waiter)
                return false
            }
            if free { waiter.resume() }
        }
    }

    private func finished() {
        let next = inFlight.withLock { running -> CheckedContinuation<Void, Never>? in
            guard !running.waiting.isEmpty else {
                running.count -= 1
                return nil
            }
            return running.waiting.removeFirst()
        }
        next?.resume()
    }

    /// Returns once `count` more answers may be owed; nothing else owed is always room enough.
    private func owe(_ count: Int) async {
        await withCheckedContinuation { (reader: CheckedContinuation<Void, Never>) in
            let room = inFlight.withLock { running in
                if running.unwritten == 0 || running.unwritten + count <= limits.maxUnwrittenAnswers {
                    running.unwritten += count
                    return true
                }
                running.reader = (reader, count)
                return false
            }
            if room { reader.resume() }
        }
    }

    /// `count` answers are out (or were never owed: notifications), making room for the reader.
    private func written(_ count: Int) {
        let reader = inFlight.withLock { running -> CheckedContinuation<Void, Never>? in
            running.unwritten -= count
            guard let (reader, needed) = running.reader,
                running.unwritten == 0 || running.unwritten + needed <= limits.maxUnwrittenAnswers
            else { return nil }
            running.unwritten += needed
            running.reader = nil
            return reader
        }
        reader?.resume()
    }

    /// - Parameter refused: the request was read after a graceful shutdown began: it is answered -32006.
    private func respond(to message: IncomingMessage, admitted: Bool, refused: Bool) async -> RPCResponse? {
        let request: RPCRequest
        switch message {
        case .invalid(let error, let id):
            return .error(error, id: id)
        case .request(let parsed):
            request = parsed
        }
        guard admitted else {
            logger.warning("request refused: too many in flight", metadata: ["rpc.method": "\(request.method)"])
            return request.id.map { .error(.overloaded(limit: limits.maxInFlight), id: $0) }
        }
        defer { finished() }
        if refused {
            return request.id.map { .error(.shuttingDown, id: $0) }
        }
        let started = ContinuousClock.now
        let outcome: RPCResponse.Outcome
        do {
            outcome = .result(try await methods.call(request, context: context))
        } catch {
            outcome = .error(error)
        }
        var metadata: Logger.Metadata = [
            "rpc.method": "\(request.method)",
            "rpc.duration_ms": "\((ContinuousClock.now - started).milliseconds)",
        ]
        if case .error(let error) = outcome { metadata["rpc.error_code"] = "\(error.code)" }
        logger.debug("request handled", metadata: metadata)
        return request.id.map { RPCResponse(id: $0, outcome: outcome) }
    }
}

extension IncomingMessage {
    /// A request to run (with or without an id), as opposed to one refused at parsing.
    var isRequest: Bool {
        if case .request = self { true } else { false }
    }
}

extension Duration {
    var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
