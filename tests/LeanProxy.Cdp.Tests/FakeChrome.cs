using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using LeanProxy.Cdp.Transport;

namespace LeanProxy.Cdp.Tests;

/// <summary>
/// A scripted fake Chrome on the far side of a real transport: the test reads the commands the client sent and writes
/// whatever frames it likes back (in any order, split anywhere).
/// <list type="bullet">
/// <item><c>pipe</c>: a <see cref="StreamPipeTransport"/>, NUL-terminated messages as on <c>--remote-debugging-pipe</c>.</item>
/// <item><c>websocket</c>: a <see cref="WebSocketTransport"/> over a real WebSocket (client and server ends of
/// <see cref="WebSocket.CreateFromStream(Stream, bool, string?, TimeSpan)"/> joined by in-memory pipes).</item>
/// </list>
/// </summary>
internal sealed class FakeChrome : IAsyncDisposable
{
    public const string Pipe = "pipe";
    public const string WebSocket = "websocket";

    private readonly System.IO.Pipelines.Pipe _toBrowser = new();
    private readonly System.IO.Pipelines.Pipe _fromBrowser = new();
    private readonly Channel<JsonElement> _commands = Channel.CreateUnbounded<JsonElement>();
    private readonly System.Net.WebSockets.WebSocket? _server;
    private readonly SemaphoreSlim _serverWrite = new(1, 1);
    private readonly Task _reader;

    public FakeChrome(string transport = Pipe)
    {
        if (transport == WebSocket)
        {
            var client = System.Net.WebSockets.WebSocket.CreateFromStream(
                new DuplexStream(_fromBrowser.Reader.AsStream(), _toBrowser.Writer.AsStream()), isServer: false, subProtocol: null, TimeSpan.Zero);
            _server = System.Net.WebSockets.WebSocket.CreateFromStream(
                new DuplexStream(_toBrowser.Reader.AsStream(), _fromBrowser.Writer.AsStream()), isServer: true, subProtocol: null, TimeSpan.Zero);
            Transport = new WebSocketTransport(client);
            _reader = Task.Run(ReadMessagesAsync);
        }
        else
        {
            Transport = new StreamPipeTransport(_toBrowser.Writer.AsStream(), _fromBrowser.Reader.AsStream());
            _reader = Task.Run(ReadFramesAsync);
        }

        Connection = new CdpConnection(Transport);
    }

    public ICdpTransport Transport { get; }

    public CdpConnection Connection { get; }

    /// <summary>The next command the client sent.</summary>
    public async Task<JsonElement> NextCommandAsync(CancellationToken cancellationToken) => await _commands.Reader.ReadAsync(cancellationToken);

    /// <summary>
    /// Writes raw bytes to the client. A message ends with NUL and may be split over several calls: on the pipe the
    /// bytes go as they are; on the WebSocket each piece is a frame, the last of a message with EndOfMessage.
    /// </summary>
    public async Task WriteRawAsync(byte[] bytes, CancellationToken cancellationToken)
    {
        if (_server is null)
        {
            await _fromBrowser.Writer.WriteAsync(bytes, cancellationToken);
            return;
        }

        await _serverWrite.WaitAsync(cancellationToken);
        try
        {
            ReadOnlyMemory<byte> rest = bytes;
            while (!rest.IsEmpty)
            {
                var end = rest.Span.IndexOf((byte)0);
                var piece = end < 0 ? rest : rest[..end];
                await _server.SendAsync(piece, WebSocketMessageType.Text, endOfMessage: end >= 0, cancellationToken);
                rest = end < 0 ? ReadOnlyMemory<byte>.Empty : rest[(end + 1)..];
            }
        }
        finally
        {
            _serverWrite.Release();
        }
    }

    public Task SendAsync(string json, CancellationToken cancellationToken) => WriteRawAsync([.. Encoding.UTF8.GetBytes(json), 0], cancellationToken);

    /// <summary>The browser goes away: the client reads end-of-file (pipe) or a close frame (WebSocket).</summary>
    public async Task CloseAsync()
    {
        if (_server is null)
        {
            await _fromBrowser.Writer.CompleteAsync();
            return;
        }

        await _serverWrite.WaitAsync();
        try
        {
            await _server.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "browser closing", CancellationToken.None);
        }
        finally
        {
            _serverWrite.Release();
        }
    }

    private async Task ReadFramesAsync()
    {
        var reader = _toBrowser.Reader;
        while (true)
        {
            var result = await reader.ReadAsync();
            var buffer = result.Buffer;
            while (buffer.PositionOf((byte)0) is { } end)
            {
                using var document = JsonDocument.Parse(buffer.Slice(0, end).ToArray());
                await _commands.Writer.WriteAsync(document.RootElement.Clone());
                buffer = buffer.Slice(buffer.GetPosition(1, end));
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                _commands.Writer.TryComplete();
                return;
            }
        }
    }

    private async Task ReadMessagesAsync()
    {
        var message = new ArrayBufferWriter<byte>();
        try
        {
            while (true)
            {
                var result = await _server!.ReceiveAsync(message.GetMemory(64 * 1024), CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                Assert.That(result.MessageType, Is.EqualTo(WebSocketMessageType.Text), "CDP messages are text frames");
                message.Advance(result.Count);
                if (result.EndOfMessage)
                {
                    using var document = JsonDocument.Parse(message.WrittenMemory);
                    await _commands.Writer.WriteAsync(document.RootElement.Clone());
                    message.Clear();
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The client went away.
        }
        finally
        {
            _commands.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _fromBrowser.Writer.CompleteAsync();
        await Connection.DisposeAsync();
        await _toBrowser.Reader.CompleteAsync();
        _server?.Dispose();
        await _reader.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _serverWrite.Dispose();
    }

    /// <summary>One end of an in-memory connection: reads from one pipe, writes to the other.</summary>
    private sealed class DuplexStream(Stream read, Stream write) : Stream
    {
        public override bool CanRead => true;

        public override bool CanWrite => true;

        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => read.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => read.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => read.ReadAsync(buffer, offset, count, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count) => write.Write(buffer, offset, count);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => write.WriteAsync(buffer, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => write.WriteAsync(buffer, offset, count, cancellationToken);

        public override void Flush() => write.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => write.FlushAsync(cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                read.Dispose();
                write.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
