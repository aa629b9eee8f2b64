using System.Buffers;
using System.IO.Pipelines;

namespace LeanProxy.Cdp.Transport;

/// <summary>
/// The <c>--remote-debugging-pipe</c> transport: NUL-terminated JSON messages over two byte streams
/// (Chromium reads fd 3 and writes fd 4; see <see cref="Launch.ChromeLauncher"/> for how the fds are handed over).
/// Works over any pair of streams, which is how the tests drive it with a scripted fake Chrome.
/// </summary>
public sealed class StreamPipeTransport : ICdpTransport
{
    private readonly Stream _toBrowser;
    private readonly Stream _fromBrowser;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private int _disposed;

    public StreamPipeTransport(Stream toBrowser, Stream fromBrowser)
    {
        _toBrowser = toBrowser;
        _fromBrowser = fromBrowser;
    }

    public async ValueTask SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // One write per message (message + NUL) so that a message is never interleaved with another.
            var buffer = ArrayPool<byte>.Shared.Rent(message.Length + 1);
            try
            {
                message.Span.CopyTo(buffer);
                buffer[message.Length] = 0;
                await _toBrowser.WriteAsync(buffer.AsMemory(0, message.Length + 1), CancellationToken.None).ConfigureAwait(false);
                await _toBrowser.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task ReceiveLoopAsync(CdpMessageHandler onMessage, CancellationToken cancellationToken)
    {
        var reader = PipeReader.Create(_fromBrowser, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 16 * 1024, leaveOpen: true));
        try
        {
            // Bytes of the current (incomplete) message already searched for the terminator: never rescan them,
            // so a 32 MiB message costs one pass, not one pass per read.
            long scanned = 0;
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = result.Buffer;
                while (true)
                {
                    var terminator = buffer.Slice(scanned).PositionOf((byte)0);
                    if (terminator is null)
                    {
                        scanned = buffer.Length;
                        break;
                    }

                    var message = buffer.Slice(0, terminator.Value);
                    Deliver(message, onMessage);
                    buffer = buffer.Slice(buffer.GetPosition(1, terminator.Value));
                    scanned = 0;
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    return;
                }
            }
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    private static void Deliver(ReadOnlySequence<byte> message, CdpMessageHandler onMessage)
    {
        if (message.IsSingleSegment)
        {
            onMessage(message.FirstSpan);
            return;
        }

        var length = checked((int)message.Length);
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            message.CopyTo(rented);
            onMessage(rented.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _toBrowser.DisposeAsync().ConfigureAwait(false);
        await _fromBrowser.DisposeAsync().ConfigureAwait(false);
        _writeLock.Dispose();
    }
}
