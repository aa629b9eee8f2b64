using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using LeanProxy.Cdp.Transport;

namespace LeanProxy.Cdp.Tests;

/// <summary>
/// A scripted fake Chrome on the far side of a <see cref="StreamPipeTransport"/>: the test reads the commands the
/// client sent and writes whatever frames it likes back (in any order, split anywhere).
/// </summary>
internal sealed class FakeChrome : IAsyncDisposable
{
    private readonly Pipe _toBrowser = new();
    private readonly Pipe _fromBrowser = new();
    private readonly Channel<JsonElement> _commands = Channel.CreateUnbounded<JsonElement>();
    private readonly Task _reader;

    public FakeChrome()
    {
        Transport = new StreamPipeTransport(_toBrowser.Writer.AsStream(), _fromBrowser.Reader.AsStream());
        Connection = new CdpConnection(Transport);
        _reader = Task.Run(ReadCommandsAsync);
    }

    public StreamPipeTransport Transport { get; }

    public CdpConnection Connection { get; }

    /// <summary>The next command the client sent.</summary>
    public async Task<JsonElement> NextCommandAsync(CancellationToken cancellationToken) => await _commands.Reader.ReadAsync(cancellationToken);

    /// <summary>Writes raw bytes to the client (a frame must end with NUL; it may be split over several calls).</summary>
    public async Task WriteRawAsync(byte[] bytes, CancellationToken cancellationToken)
    {
        await _fromBrowser.Writer.WriteAsync(bytes, cancellationToken);
    }

    public Task SendAsync(string json, CancellationToken cancellationToken) => WriteRawAsync([.. Encoding.UTF8.GetBytes(json), 0], cancellationToken);

    /// <summary>The browser goes away: the client reads end-of-file.</summary>
    public async Task CloseAsync() => await _fromBrowser.Writer.CompleteAsync();

    private async Task ReadCommandsAsync()
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

    public async ValueTask DisposeAsync()
    {
        await _fromBrowser.Writer.CompleteAsync();
        await Connection.DisposeAsync();
        await _toBrowser.Reader.CompleteAsync();
        await _reader.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }
}
