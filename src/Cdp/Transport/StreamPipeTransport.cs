using System.Buffers;

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

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1849",
        Justification = "Synchronous on purpose (below): an asynchronous pipe write costs a thread-pool round trip per command.")]
    public ValueTask SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

        // One write per message (message + NUL), under a lock, so that messages never interleave. The write is
        // synchronous: a pipe write completes at once unless Chromium stops reading (64 KiB of buffer), and an
        // asynchronous one would cost a thread-pool round trip on every command.
        var buffer = ArrayPool<byte>.Shared.Rent(message.Length + 1);
        try
        {
            message.Span.CopyTo(buffer);
            buffer[message.Length] = 0;
            _writeLock.Wait(cancellationToken);
            try
            {
                _toBrowser.Write(buffer, 0, message.Length + 1);
                _toBrowser.Flush();
            }
            finally
            {
                _writeLock.Release();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Reads on a dedicated thread with blocking reads: the pipe's read end is not pollable through .NET, and an
    /// asynchronous read would be a blocking read on a thread-pool thread anyway, plus a hop per message.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1031", Justification = "The reader thread hands every failure to the awaiting task.")]
    public Task ReceiveLoopAsync(CdpMessageHandler onMessage, CancellationToken cancellationToken)
    {
        var completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                ReadLoop(onMessage, cancellationToken);
                completion.TrySetResult();
            }
            catch (OperationCanceledException ex)
            {
                completion.TrySetCanceled(ex.CancellationToken);
            }
            catch (Exception ex)
            {
                completion.TrySetException(ex);
            }
        })
        {
            IsBackground = true,
            Name = "cdp-pipe-reader",
        };
        thread.Start();
        return completion.Task;
    }

    private void ReadLoop(CdpMessageHandler onMessage, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        var start = 0;   // first byte of the current (incomplete) message
        var end = 0;     // end of the bytes read so far
        var scanned = 0; // bytes after start already searched for the terminator: never rescanned
        try
        {
            while (true)
            {
                if (end == buffer.Length)
                {
                    if (start > 0)
                    {
                        buffer.AsSpan(start, end - start).CopyTo(buffer);
                    }
                    else
                    {
                        var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, end).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }

                    end -= start;
                    start = 0;
                }

                var read = _fromBrowser.Read(buffer, end, buffer.Length - end);
                if (read == 0 || Volatile.Read(ref _disposed) != 0)
                {
                    return;
                }

                cancellationToken.ThrowIfCancellationRequested();
                end += read;
                while (true)
                {
                    var terminator = buffer.AsSpan(start + scanned, end - start - scanned).IndexOf((byte)0);
                    if (terminator < 0)
                    {
                        scanned = end - start;
                        break;
                    }

                    var length = scanned + terminator;
                    onMessage(buffer.AsSpan(start, length));
                    start += length + 1;
                    scanned = 0;
                }

                if (start == end)
                {
                    start = end = 0;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
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
