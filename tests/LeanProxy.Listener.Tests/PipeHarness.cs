using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using LeanProxy.Listener.Http;

namespace LeanProxy.Listener.Tests;

/// <summary>Runs the HTTP driver over in-memory pipes: the test plays the client on the other ends.</summary>
internal sealed class PipeHarness : IAsyncDisposable
{
    private readonly Pipe _toServer = new();
    private readonly Pipe _fromServer = new();
    private readonly ConnectionManager _manager = new(TimeSpan.FromMilliseconds(50));

    public PipeHarness(IProxyRequestHandler handler, HttpListenerOptions? options = null)
    {
        var context = Context = _manager.Register(_toServer.Reader.CancelPendingRead);
        var connection = new StreamConnection(new Duplex(_toServer.Reader, _fromServer.Writer), context, null, null);
        Run = new HttpDriver(handler, options ?? new HttpListenerOptions()).RunAsync(connection, CancellationToken.None);
    }

    /// <summary>Completes when the server side closes the connection.</summary>
    public Task Run { get; }

    /// <summary>The connection's context as the manager sees it (idle, deadline).</summary>
    public ConnectionContext Context { get; }

    public ConnectionManager Manager => _manager;

    public async Task SendAsync(string text, CancellationToken cancellationToken)
    {
        await _toServer.Writer.WriteAsync(Encoding.Latin1.GetBytes(text), cancellationToken);
    }

    public async Task SendBytesAsync(byte[] bytes, CancellationToken cancellationToken)
    {
        await _toServer.Writer.WriteAsync(bytes, cancellationToken);
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes (fewer only when the server closed).</summary>
    public async Task<byte[]> ReadBytesAsync(int count, CancellationToken cancellationToken)
    {
        var reader = _fromServer.Reader;
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            if (result.Buffer.Length >= count || result.IsCompleted)
            {
                var take = result.Buffer.Slice(0, Math.Min(count, result.Buffer.Length));
                var bytes = take.ToArray();
                reader.AdvanceTo(take.End);
                return bytes;
            }

            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    /// <summary>Reads until the server completes its output; everything it wrote.</summary>
    public async Task<byte[]> ReadToEndAsync(CancellationToken cancellationToken)
    {
        var reader = _fromServer.Reader;
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            if (result.IsCompleted)
            {
                var bytes = result.Buffer.ToArray();
                reader.AdvanceTo(result.Buffer.End);
                return bytes;
            }

            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    public async Task CloseInputAsync() => await _toServer.Writer.CompleteAsync();

    /// <summary>Reads one response: status, headers and body (Content-Length, chunked, or until close).</summary>
    public async Task<RawResponse?> ReadResponseAsync(CancellationToken cancellationToken, bool headOnly = false)
    {
        var reader = _fromServer.Reader;
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            if (RawResponse.TryParse(ref buffer, headOnly, result.IsCompleted, out var response))
            {
                reader.AdvanceTo(buffer.Start);
                return response;
            }

            if (result.IsCompleted)
            {
                reader.AdvanceTo(buffer.End);
                return null;
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Reads whatever bytes come next (for interim responses such as 100 Continue).</summary>
    public async Task<string> ReadSomeAsync(CancellationToken cancellationToken)
    {
        var result = await _fromServer.Reader.ReadAsync(cancellationToken);
        var text = Encoding.Latin1.GetString(result.Buffer.ToArray());
        _fromServer.Reader.AdvanceTo(result.Buffer.End);
        return text;
    }

    public async ValueTask DisposeAsync()
    {
        await _toServer.Writer.CompleteAsync();
        await Run.WaitAsync(TimeSpan.FromSeconds(10));
        _manager.Dispose();
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}

/// <summary>A response as a client read it off the wire.</summary>
internal sealed class RawResponse
{
    public int Status { get; private init; }

    public List<KeyValuePair<string, string>> Headers { get; } = [];

    public string Body { get; private set; } = string.Empty;

    public List<string> Chunks { get; } = [];

    public string? Header(string name) => Headers.FirstOrDefault(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;

    public static bool TryParse(ref ReadOnlySequence<byte> buffer, bool headOnly, bool completed, out RawResponse? response)
    {
        response = null;
        var text = Encoding.Latin1.GetString(buffer.ToArray());
        var headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (headEnd < 0)
        {
            return false;
        }

        var lines = text[..headEnd].Split("\r\n");
        var parsed = new RawResponse { Status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture) };
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            parsed.Headers.Add(new(line[..colon], line[(colon + 1)..].Trim()));
        }

        var offset = headEnd + 4;
        var noBody = headOnly || parsed.Status is 204 or 304 or (>= 100 and < 200);
        if (noBody)
        {
            // nothing
        }
        else if (parsed.Header("Content-Length") is { } length)
        {
            var size = int.Parse(length, System.Globalization.CultureInfo.InvariantCulture);
            if (text.Length - offset < size)
            {
                return false;
            }

            parsed.Body = text.Substring(offset, size);
            offset += size;
        }
        else if (parsed.Header("Transfer-Encoding") == "chunked")
        {
            var body = new StringBuilder();
            while (true)
            {
                var lineEnd = text.IndexOf("\r\n", offset, StringComparison.Ordinal);
                if (lineEnd < 0)
                {
                    return false;
                }

                var size = Convert.ToInt32(text[offset..lineEnd], 16);
                if (text.Length < lineEnd + 2 + size + 2)
                {
                    return false;
                }

                offset = lineEnd + 2 + size + 2;
                if (size == 0)
                {
                    break;
                }

                var chunk = text.Substring(lineEnd + 2, size);
                parsed.Chunks.Add(chunk);
                body.Append(chunk);
            }

            parsed.Body = body.ToString();
        }
        else if (completed)
        {
            parsed.Body = text[offset..];
            offset = text.Length;
        }
        else
        {
            return false;
        }

        buffer = buffer.Slice(Encoding.Latin1.GetByteCount(text[..offset]));
        response = parsed;
        return true;
    }
}

/// <summary>A handler that records what it saw and answers with a function of the request.</summary>
internal sealed class RecordingHandler(Func<ProxyRequest, ValueTask<ProxyResponse>> respond) : IProxyRequestHandler
{
    private int _calls;

    public List<string> Seen { get; } = [];

    public int Calls => Volatile.Read(ref _calls);

    public static RecordingHandler Echo() => new(request =>
    {
        var response = new ProxyResponse(200) { Body = Encoding.UTF8.GetBytes($"{request.Method} {request.TargetString} {Encoding.UTF8.GetString(request.Body.Span)}") };
        response.Headers.Add(new("Content-Type", "text/plain"));
        return ValueTask.FromResult(response);
    });

    public async ValueTask<ProxyResponse> HandleAsync(ProxyRequest request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        lock (Seen)
        {
            Seen.Add(request.Method + " " + request.TargetString);
        }

        return await respond(request);
    }
}
