using System.Threading.Channels;

namespace LeanProxy.Engine.Fetch;

/// <summary>The answer's body: whole with its head, piece by piece to the page within its credit, or forwarded to the client.</summary>
internal sealed partial class Subrequest
{
    /// <summary>
    /// The head and the body: a body of a known length up to <see cref="ChunkSize"/> goes with the head in one item (one
    /// batch, and the page's reader needs no credit); any other follows the head piece by piece as it comes (a stream
    /// of events gets its head at once).
    /// </summary>
    private async Task PumpBodyAsync(FetchItem.Head head, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var first = new byte[ChunkSize];
            var filled = 0;
            var ended = false;
            var small = response.Content.Headers.ContentLength is { } length && length <= ChunkSize;
            if (!small)
            {
                _tab.Enqueue(head);
                if (await _destination.Task.WaitAsync(cancellationToken).ConfigureAwait(false) is { } forwarded)
                {
                    _cancel.CancelAfter(Timeout.InfiniteTimeSpan); // the handler has answered: the client's pace decides now
                    await ForwardAsync(stream, forwarded, cancellationToken).ConfigureAwait(false);
                    return;
                }
            }
            else
            {
                _destination.TrySetResult(null); // it comes whole to the page
            }

            while (small && filled < first.Length)
            {
                var read = await ReadAsync(stream, first.AsMemory(filled), 0, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    ended = true;
                    break;
                }

                filled += read;
            }

            if (ended)
            {
                _tab.Enqueue(new FetchItem.Whole(head, first, filled));
                return;
            }

            if (small)
            {
                _tab.Enqueue(head); // longer than it said: the rest comes piece by piece
            }

            if (filled > 0)
            {
                lock (_lock)
                {
                    _sent = filled;
                }

                _tab.Enqueue(new FetchItem.Chunk(Id, 0, first, filled));
            }

            long sent = filled;
            while (true)
            {
                await WaitForCreditAsync(sent, cancellationToken).ConfigureAwait(false);
                var buffer = new byte[ChunkSize];
                var read = await ReadAsync(stream, buffer, sent, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                if (_tab.IsDead)
                {
                    return; // nobody to hand it to: the tab's end failed its request
                }

                lock (_lock)
                {
                    _sent = sent + read;
                }

                _tab.Enqueue(new FetchItem.Chunk(Id, sent, buffer, read));
                sent += read;
            }

            _tab.Enqueue(new FetchItem.End(Id, sent));
        }
    }

    /// <summary>The body from the origin straight to the client's connection (<see cref="ForwardedBody"/>).</summary>
    private async Task ForwardAsync(Stream stream, ForwardedBody forwarded, CancellationToken cancellationToken)
    {
        long sent = 0;
        try
        {
            while (true)
            {
                var buffer = new byte[ChunkSize];
                var read = await ReadAsync(stream, buffer, sent, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    forwarded.Writer.TryComplete();
                    return;
                }

                await forwarded.Writer.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                sent += read;
            }
        }
        catch (ChannelClosedException)
        {
            // The client went away (the listener disposed the body).
        }
        catch (Exception ex) when (ex is SubrequestException or OperationCanceledException)
        {
            forwarded.Writer.TryComplete(new InvalidOperationException("The forwarded body failed: " + ex.Message, ex));
            throw;
        }
    }

    private async Task<int> ReadAsync(Stream stream, Memory<byte> buffer, long sent, CancellationToken cancellationToken)
    {
        try
        {
            return await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            throw SubrequestException.Type($"The body of {Describe(_start.Url)} failed after {sent} bytes: {ex.GetBaseException().Message}", ex);
        }
    }

    private async Task WaitForCreditAsync(long sent, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_lock)
            {
                if (sent - _taken < Window)
                {
                    return;
                }

                _credit ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _credit.Task;
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
