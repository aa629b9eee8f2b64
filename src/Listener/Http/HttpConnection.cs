using LeanProxy.Buffers;
using System.Buffers;
using System.IO.Pipelines;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Listener.Http;

/// <summary>
/// The per-connection state machine: owns the <see cref="PipeReader"/> loop, parses heads, reads bodies,
/// calls the handler and writes responses in order. Responses to pipelined requests are flushed once per batch:
/// the writer is only flushed when no further complete request is already buffered or the handler goes async.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001",
    Justification = "RunAsync is the whole life of a connection object; its finally returns the body buffer.")]
internal sealed partial class HttpConnection(StreamConnection connection, IProxyRequestHandler handler, HttpListenerOptions options, ILogger logger)
{
    private static readonly byte[] ContinueLine = "HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray();

    private readonly PipeReader _reader = connection.Transport.Input;
    private readonly PipeWriter _writer = connection.Transport.Output;
    private readonly ConnectionContext _context = connection.Context;
    private readonly ProxyRequest _request = new()
    {
        RemoteEndPoint = connection.RemoteEndPoint,
        LocalEndPoint = connection.LocalEndPoint,
        ConnectionId = connection.Id,
    };

    private readonly PooledBuffer _body = new();
    private bool _unflushed;
    private CancellationToken _aborted;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        _aborted = cancellationToken;
        try
        {
            await ProcessRequestsAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex)
        {
            await RejectAsync(ex).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            ListenerLog.ConnectionIoError(logger, connection.Id, ex);
        }
        finally
        {
            _body.Dispose();
            _context.ClearTimeout();
            await _reader.CompleteAsync().ConfigureAwait(false);
            await _writer.CompleteAsync().ConfigureAwait(false);
        }
    }

    private async Task ProcessRequestsAsync(CancellationToken cancellationToken)
    {
        var first = true;
        while (true)
        {
            // Waiting for the next request: idle until its first byte, then the headers deadline.
            var result = await ReadHeadAsync(first, cancellationToken).ConfigureAwait(false);
            first = false;
            if (result is null)
            {
                return;
            }

            var framing = result.Value;
            if (framing.ExpectContinue && framing.Body != BodyKind.None)
            {
                _writer.Write(ContinueLine);
                await FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            _body.Reset(keepAtMost: 256 * 1024);
            if (framing.Body == BodyKind.ContentLength)
            {
                await ReadContentLengthBodyAsync(framing.ContentLength, cancellationToken).ConfigureAwait(false);
            }
            else if (framing.Body == BodyKind.Chunked)
            {
                await ReadChunkedBodyAsync(cancellationToken).ConfigureAwait(false);
            }

            _request.Body = _body.WrittenMemory;
            var keepAlive = await HandleAsync(framing.KeepAlive).ConfigureAwait(false);
            if (!keepAlive || _context.StopRequested)
            {
                await FlushAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
        }
    }

    /// <summary>Calls the handler and writes its response; returns whether the connection stays open.</summary>
    private async ValueTask<bool> HandleAsync(bool keepAlive)
    {
        ProxyResponse response;
        try
        {
            var pending = handler.HandleAsync(_request, CancellationToken.None);
            if (!pending.IsCompleted && _unflushed)
            {
                // Earlier pipelined responses must not wait for a slow handler.
                await FlushAsync(CancellationToken.None).ConfigureAwait(false);
            }

            response = await pending.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            ListenerLog.HandlerFailed(logger, connection.Id, ex);
            response = ProxyResponse.Text(500, "Internal Server Error");
        }

        if (response.Upgrade is { } upgrade && response.StatusCode == 101)
        {
            await UpgradeAsync(response, upgrade).ConfigureAwait(false);
            return false;
        }

        keepAlive = keepAlive && !response.CloseConnection && !_context.StopRequested;
        var noBody = HttpResponseWriter.HasNoBody(response.StatusCode, _request.KnownMethod);
        if (response.StreamingBody is { } stream)
        {
            if (!noBody)
            {
                try
                {
                    return await WriteStreamingAsync(response, stream, keepAlive).ConfigureAwait(false);
                }
                finally
                {
                    (stream as IDisposable)?.Dispose();
                }
            }

            (stream as IDisposable)?.Dispose();
        }

        var body = response.Body;
        HttpResponseWriter.WriteHead(
            _writer,
            response.StatusCode,
            response.ReasonPhrase,
            response.Headers,
            body.Length,
            close: !keepAlive,
            suppressLength: response.StatusCode is 204 or (>= 100 and < 200) || (response.StatusCode == 304 && body.IsEmpty),
            serverHeader: options.ServerHeader);
        if (!noBody && !body.IsEmpty)
        {
            _writer.Write(body.Span);
        }

        _unflushed = true;
        return keepAlive;
    }

    /// <summary>Writes the 101 and hands the connection over to the session until it ends (the upgrade seam).</summary>
    private async ValueTask UpgradeAsync(ProxyResponse response, Func<IUpgradedConnection, Task> session)
    {
        HttpResponseWriter.WriteUpgradeHead(_writer, response.Headers, response.UpgradeProtocol, options.ServerHeader);
        await FlushAsync(CancellationToken.None).ConfigureAwait(false);
        _context.ClearTimeout();

        // A session may be closed at any time when the server stops: its pending read is cancelled then.
        _context.Idle = true;
        if (_context.StopRequested)
        {
            return;
        }

        try
        {
            await session(new UpgradedConnection(connection.Transport, connection.RemoteEndPoint, _aborted)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            ListenerLog.UpgradeFailed(logger, connection.Id, ex);
        }
        finally
        {
            _context.Idle = false;
        }
    }

    private sealed record UpgradedConnection(System.IO.Pipelines.IDuplexPipe Transport, System.Net.EndPoint? RemoteEndPoint, CancellationToken Stopping)
        : IUpgradedConnection;

    private async ValueTask<bool> WriteStreamingAsync(ProxyResponse response, System.Threading.Channels.ChannelReader<ReadOnlyMemory<byte>> stream,
        bool keepAlive)
    {
        // HTTP/1.0 has no chunked coding: the body ends when the connection closes.
        var chunked = _request.Version == HttpVersion.Http11;
        keepAlive &= chunked;
        HttpResponseWriter.WriteHead(_writer, response.StatusCode, response.ReasonPhrase, response.Headers, -1, !keepAlive, suppressLength: !chunked,
            options.ServerHeader);
        await FlushAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            await foreach (var chunk in stream.ReadAllAsync().ConfigureAwait(false))
            {
                if (chunked)
                {
                    HttpResponseWriter.WriteChunk(_writer, chunk.Span);
                }
                else
                {
                    _writer.Write(chunk.Span);
                }

                await FlushAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException and not IOException)
        {
            // The body failed midway: the head is gone, so the only honest signal left is an aborted message.
            ListenerLog.StreamingBodyFailed(logger, connection.Id, ex);
            await FlushAsync(CancellationToken.None).ConfigureAwait(false);
            return false;
        }

        if (chunked)
        {
            HttpResponseWriter.WriteLastChunk(_writer);
        }

        _unflushed = true;
        return keepAlive;
    }

    private async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        _unflushed = false;
        var result = await _writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (result.IsCanceled || result.IsCompleted)
        {
            throw new IOException("The client stopped reading.");
        }
    }

    private async Task RejectAsync(BadHttpRequestException ex)
    {
        ListenerLog.BadRequest(logger, connection.Id, ex.StatusCode, ex.Message);
        try
        {
            HttpResponseWriter.WriteError(_writer, ex.StatusCode, ex.Message, headOnly: _request.KnownMethod == HttpMethod.Head && ex.StatusCode != 400);
            await _writer.FlushAsync().ConfigureAwait(false);
        }
        catch (Exception flushError) when (flushError is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // Best effort: the client may already be gone.
        }
    }
}
