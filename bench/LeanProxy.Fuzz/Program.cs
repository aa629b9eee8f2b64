using System.Buffers;
using LeanProxy.Engine.Apps;
using LeanProxy.Listener;
using LeanProxy.Listener.Http;
using SharpFuzz;

// One fuzz target per run: dotnet LeanProxy.Fuzz.dll TARGET, reading inputs from AFL++ (bench/fuzz/run.sh), or
// dotnet LeanProxy.Fuzz.dll TARGET FILE to replay one input. An input is a crash when it throws anything but the
// target's documented refusal, or when a differential check (whole against split) disagrees.
var targets = new Dictionary<string, Action<byte[]>>(StringComparer.Ordinal)
{
    ["http-head"] = FuzzTargets.HttpHead,
    ["chunked"] = FuzzTargets.Chunked,
    ["cdp-envelope"] = FuzzTargets.CdpEnvelope,
    ["tar"] = FuzzTargets.Tar,
    ["websocket"] = FuzzTargets.WebSocket,
};

if (args.Length is < 1 or > 2 || !targets.TryGetValue(args[0], out var target))
{
    Console.Error.WriteLine($"usage: LeanProxy.Fuzz {string.Join('|', targets.Keys)} [FILE]");
    return 2;
}

if (args.Length == 2)
{
    target(File.ReadAllBytes(args[1]));
    Console.WriteLine("no crash");
    return 0;
}

Fuzzer.OutOfProcess.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    target(buffer.ToArray());
});
return 0;

internal static class FuzzTargets
{
    private static readonly HttpListenerOptions Limits = new();

    /// <summary>The head parser: refusals are BadHttpRequestException; the first byte picks a split point, and split must equal whole.</summary>
    public static void HttpHead(byte[] input)
    {
        if (input.Length == 0)
        {
            return;
        }

        var bytes = input.AsSpan(1).ToArray();
        var whole = Parse(new ReadOnlySequence<byte>(bytes));
        var at = bytes.Length == 0 ? 0 : input[0] % (bytes.Length + 1);
        var split = Parse(Split(bytes, at));
        if (whole != split)
        {
            throw new InvalidOperationException($"split at {at} parsed as {split}, whole as {whole}");
        }
    }

    private static string Parse(ReadOnlySequence<byte> sequence)
    {
        var request = new ProxyRequest();
        try
        {
            if (!HttpParser.TryParseHead(sequence, request, Limits, out var end, out var framing))
            {
                return "more";
            }

            var fields = string.Join('|', Enumerable.Range(0, request.HeaderCount).Select(i => Convert.ToHexString(request.HeaderName(i)) + ":" + Convert.ToHexString(request.HeaderValue(i))));
            return $"{request.Method} {request.TargetString} {request.Version} {framing.Body} {framing.ContentLength} {framing.KeepAlive} {sequence.Slice(end).Length} {fields}";
        }
        catch (BadHttpRequestException ex)
        {
            return "bad " + ex.StatusCode + " " + ex.Message;
        }
    }

    /// <summary>The chunked decoder, fed in two pieces (the first byte picks where): refusals are BadHttpRequestException.</summary>
    public static void Chunked(byte[] input)
    {
        if (input.Length == 0)
        {
            return;
        }

        var bytes = input.AsSpan(1).ToArray();
        var at = bytes.Length == 0 ? 0 : input[0] % (bytes.Length + 1);
        var decoder = new ChunkedBodyDecoder();
        var body = new ArrayBufferWriter<byte>();
        try
        {
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(bytes, 0, at));
            if (decoder.TryDecode(ref reader, body, Limits))
            {
                return;
            }

            var consumed = (int)reader.Consumed;
            reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(bytes, consumed, bytes.Length - consumed));
            decoder.TryDecode(ref reader, body, Limits);
        }
        catch (BadHttpRequestException)
        {
            // A refusal with a reason: what bad input must get.
        }
    }

    /// <summary>The CDP envelope scanner: never throws but on malformed JSON (JsonException); the slices it gives stay inside the frame.</summary>
    public static void CdpEnvelope(byte[] input)
    {
        try
        {
            if (LeanProxy.Cdp.CdpEnvelope.TryScan(input, out var envelope))
            {
                _ = envelope.Result(input).Length + envelope.Params(input).Length;
                if (envelope.MethodLength > 0)
                {
                    _ = input.AsSpan(envelope.MethodStart, envelope.MethodLength);
                }

                if (envelope.SessionLength > 0)
                {
                    _ = input.AsSpan(envelope.SessionStart, envelope.SessionLength);
                }

                if (envelope.HasError && envelope.ErrorMessageLength > 0)
                {
                    _ = envelope.ErrorMessage(input);
                }
            }
        }
        catch (System.Text.Json.JsonException)
        {
            // A frame that is not JSON: the connection treats it as a protocol error.
        }
    }

    /// <summary>The tar bundle reader: refusals are BundleArchiveException.</summary>
    public static void Tar(byte[] input)
    {
        try
        {
            BundleArchive.Read("fuzz", input);
        }
        catch (BundleArchiveException)
        {
            // Refused with a reason.
        }
    }

    /// <summary>
    /// The WebSocket frame reader (RFC 6455, a server's side): client bytes fed in two pieces (the first byte picks
    /// where); every message and the close code must be the same as when fed whole, and nothing may throw — bad input
    /// ends the session with a close code.
    /// </summary>
    public static void WebSocket(byte[] input)
    {
        if (input.Length == 0)
        {
            return;
        }

        var bytes = input.AsSpan(1).ToArray();
        var at = bytes.Length == 0 ? 0 : input[0] % (bytes.Length + 1);
        var whole = WebSocketSessionAsync(bytes, bytes.Length).GetAwaiter().GetResult();
        var split = WebSocketSessionAsync(bytes, at).GetAwaiter().GetResult();
        if (whole != split)
        {
            throw new InvalidOperationException($"split at {at} read {split}, whole {whole}");
        }
    }

    private static async Task<string> WebSocketSessionAsync(byte[] bytes, int at)
    {
        var input = new System.IO.Pipelines.Pipe();
        var session = new LeanProxy.Listener.WebSockets.WebSocketConnection(
            new Duplex(input.Reader, System.IO.Pipelines.PipeWriter.Create(Stream.Null)), maxMessageBytes: 4096);
        await input.Writer.WriteAsync(bytes.AsMemory(0, at));
        var feeding = Task.Run(async () =>
        {
            await input.Writer.WriteAsync(bytes.AsMemory(at));
            await input.Writer.CompleteAsync();
        });
        var log = new System.Text.StringBuilder();
        using var message = new LeanProxy.Buffers.PooledBuffer();
        while (true)
        {
            message.Reset(keepAtMost: 1 << 16);
            var type = await session.ReceiveAsync(message, CancellationToken.None);
            if (type == LeanProxy.Listener.WebSockets.WebSocketMessageType.Close)
            {
                log.Append("close ").Append(session.CloseStatus);
                break;
            }

            log.Append(type).Append(':').Append(Convert.ToHexString(message.WrittenSpan)).Append(';');
        }

        await session.DisposeAsync(); // completes the reader: what is still being fed is dropped
        await feeding;
        return log.ToString();
    }

    private sealed class Duplex(System.IO.Pipelines.PipeReader input, System.IO.Pipelines.PipeWriter output) : System.IO.Pipelines.IDuplexPipe
    {
        public System.IO.Pipelines.PipeReader Input { get; } = input;

        public System.IO.Pipelines.PipeWriter Output { get; } = output;
    }

    private static ReadOnlySequence<byte> Split(byte[] bytes, int at)
    {
        if (at <= 0 || at >= bytes.Length)
        {
            return new ReadOnlySequence<byte>(bytes);
        }

        var first = new Segment(bytes.AsMemory(0, at), 0);
        var second = new Segment(bytes.AsMemory(at), at);
        first.SetNext(second);
        return new ReadOnlySequence<byte>(first, 0, second, second.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public void SetNext(Segment next) => Next = next;
    }
}
