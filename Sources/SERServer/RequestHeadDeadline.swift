import HummingbirdCore
import Logging
import NIOCore

/// Wraps a server's connection setup so that a new connection must deliver a
/// complete request head (the bytes up to the first blank line) within
/// `deadline`, or be closed. The HTTP idle timeout only starts once a head has
/// been parsed, so without this a client sending a partial head, or bytes that
/// never make one, would hold a connection and its buffer for ever.
struct RequestHeadDeadlineChannel<Base: ServerChildChannel>: ServerChildChannel {
    let base: Base
    let deadline: TimeAmount
    /// The most bytes a head may take before it must be complete.
    let maximumHeadBytes: Int

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Base.Value> {
        let added = channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(
                RequestHeadDeadlineHandler(deadline: deadline, maximumHeadBytes: maximumHeadBytes), position: .first)
        }
        return added.flatMap { base.setup(channel: channel, logger: logger) }
    }

    func handle(value: Base.Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Closes its connection unless `\r\n\r\n` arrives within the deadline and the
/// first `maximumHeadBytes` bytes; afterwards it only passes bytes on.
final class RequestHeadDeadlineHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let deadline: TimeAmount
    private let maximumHeadBytes: Int
    private var timer: Scheduled<Void>?
    private var received = 0
    private var matched = 0          // bytes of "\r\n\r\n" matched so far
    private var headComplete = false

    init(deadline: TimeAmount, maximumHeadBytes: Int) {
        self.deadline = deadline
        self.maximumHeadBytes = maximumHeadBytes
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: deadline) { channel.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !headComplete {
            let buffer = unwrapInboundIn(data)
            let terminator: [UInt8] = [13, 10, 13, 10]
            for byte in buffer.readableBytesView {
                received += 1
                matched = byte == terminator[matched] ? matched + 1 : (byte == 13 ? 1 : 0)
                if matched == 4 { headComplete = true; break }
            }
            if headComplete {
                timer?.cancel()
            } else if received > maximumHeadBytes {
                context.close(promise: nil)
                return
            }
        }
        context.fireChannelRead(data)
    }
}
