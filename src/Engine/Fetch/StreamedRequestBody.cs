using System.Buffers;
using System.IO.Pipelines;
using System.Net;

namespace LeanProxy.Engine.Fetch;

/// <summary>
/// A request body the handler streams (a <c>ReadableStream</c>): its pieces come from the page as they are produced
/// and go to the origin as they come (chunked). The page sends at most <see cref="Subrequest.Window"/> beyond what the
/// origin's connection took, which this content reports back (<see cref="HostMessageKind.FetchCredit"/>) as it takes
/// it; a page that sends past its credit fails its subrequest. Sent once: a redirect that would send it again fails.
/// </summary>
internal sealed class StreamedRequestBody(Action<long> taken) : HttpContent
{
    /// <summary>Slack past the window for what was in flight when a credit was sent.</summary>
    private const long CreditStep = 64 * 1024;

    // No pause in the pipe: the credit bounds what the page may have sent ahead (checked in Append).
    private readonly Pipe _pipe = new(new PipeOptions(pauseWriterThreshold: 0, resumeWriterThreshold: 0, useSynchronizationContext: false));
    private readonly Lock _lock = new();
    private long _received;
    private long _taken;
    private bool _ended;

    /// <summary>A piece from the page (on the CDP receive loop: never waits). False when it is past the page's credit.</summary>
    public bool Append(ReadOnlySpan<byte> piece)
    {
        lock (_lock)
        {
            if (_ended)
            {
                return true; // after a failure or the end: nowhere to go
            }

            _received += piece.Length;
            if (_received - Interlocked.Read(ref _taken) > Subrequest.Window + CreditStep)
            {
                _ended = true;
                _pipe.Writer.Complete(new IOException("The request body stream failed: the page sent more of the body than its credit"));
                return false;
            }

            Write(piece);
            return true;
        }
    }

    private void Write(ReadOnlySpan<byte> piece)
    {
        _pipe.Writer.Write(piece);
        var flush = _pipe.Writer.FlushAsync(); // completes at once: the pipe never pauses
        if (flush.IsCompleted)
        {
            flush.GetAwaiter().GetResult();
        }
        else
        {
            _ = flush.AsTask();
        }
    }

    public void End()
    {
        lock (_lock)
        {
            if (!_ended)
            {
                _ended = true;
                _pipe.Writer.Complete();
            }
        }
    }

    public void Fail(string message)
    {
        lock (_lock)
        {
            if (!_ended)
            {
                _ended = true;
                _pipe.Writer.Complete(new IOException("The request body stream failed: " + message));
            }
        }
    }

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        await SerializeToStreamAsync(stream, context, CancellationToken.None).ConfigureAwait(false);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        var reader = _pipe.Reader;
        long reported = 0;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = result.Buffer;
                foreach (var segment in buffer)
                {
                    await stream.WriteAsync(segment, cancellationToken).ConfigureAwait(false);
                }

                var total = Interlocked.Add(ref _taken, buffer.Length);
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }

                if (total > reported)
                {
                    await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                    reported = total;
                    taken(total);
                }
            }
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}
