using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using LeanProxy.Buffers;
using LeanProxy.Listener.WebSockets;

namespace LeanProxy.Listener.Tests;

/// <summary>RFC 6455 on the server's side: the handshake through the upgrade seam, then frames over in-memory pipes.</summary>
public sealed class WebSocketTests
{
    private const string Key = "dGhlIHNhbXBsZSBub25jZQ==";

    [Test]
    public void TheAcceptKeyIsTheRfcsExample() =>
        Assert.That(WebSocketHandshake.AcceptKey(Key), Is.EqualTo("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));

    [TestCase("", "da39a3ee5e6b4b0d3255bfef95601890afd80709")]
    [TestCase("abc", "a9993e364706816aba3e25717850c26c9cd0d89d")]
    [TestCase("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1")]
    [TestCase("55 bytes: 0123456789012345678901234567890123456789012", null, TestName = "APaddingThatNeedsASecondBlock")]
    public void Sha1IsSha1(string text, string? expected)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
#pragma warning disable CA5350 // the reference, to compare with
        expected ??= Convert.ToHexStringLower(System.Security.Cryptography.SHA1.HashData(bytes));
#pragma warning restore CA5350
        Assert.That(Convert.ToHexStringLower(Sha1.Hash(bytes)), Is.EqualTo(expected));
        var long_ = Enumerable.Repeat(bytes, 40).SelectMany(b => b).ToArray();
#pragma warning disable CA5350
        Assert.That(Sha1.Hash(long_), Is.EqualTo(System.Security.Cryptography.SHA1.HashData(long_)), "over many blocks");
#pragma warning restore CA5350
    }

    [Test]
    public void Sha1MatchesTheReferenceAtEveryPaddingBoundary()
    {
        var data = Enumerable.Range(0, 300).Select(i => (byte)(i * 7)).ToArray();
        for (var length = 0; length <= data.Length; length++)
        {
#pragma warning disable CA5350 // the reference, to compare with
            Assert.That(Sha1.Hash(data.AsSpan(0, length)), Is.EqualTo(System.Security.Cryptography.SHA1.HashData(data.AsSpan(0, length))), $"{length} bytes");
#pragma warning restore CA5350
        }
    }

    [TestCase("Sec-WebSocket-Version: 13\r\n", 400, TestName = "NoKey")]
    [TestCase("Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: c2hvcnQ=\r\n", 400, TestName = "AKeyOfTheWrongLength")]
    [TestCase("Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: " + Key + "\r\n", 426, TestName = "AnotherVersion")]
    [CancelAfter(10_000)]
    public async Task ABadHandshakeIsRefusedWithItsReason(string fields, int status, CancellationToken cancellationToken)
    {
        await using var harness = new PipeHarness(EchoServer(out _));
        await harness.SendAsync("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + fields + "\r\n", cancellationToken);
        var response = await harness.ReadResponseAsync(cancellationToken);
        Assert.That(response!.Status, Is.EqualTo(status));
        if (status == 426)
        {
            Assert.That(response.Header("Sec-WebSocket-Version"), Is.EqualTo("13"));
        }
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task MessagesAreEchoedWholeFragmentedAndWithPingsBetweenTheirFragments(CancellationToken cancellationToken)
    {
        await using var harness = await OpenAsync(EchoServer(out _), cancellationToken);
        await harness.SendBytesAsync(ClientFrame(0x1, "hello"u8.ToArray()), cancellationToken);
        Assert.That(await ReadFrameAsync(harness, cancellationToken), Is.EqualTo((0x81, "hello")));

        // A fragmented binary message with a ping between its fragments: the pong comes first, then the whole message.
        await harness.SendBytesAsync([.. ClientFrame(0x2, "ab"u8.ToArray(), fin: false), .. ClientFrame(0x9, "p"u8.ToArray()),
            .. ClientFrame(0x0, "cd"u8.ToArray(), fin: false), .. ClientFrame(0x0, "ef"u8.ToArray())], cancellationToken);
        Assert.That(await ReadFrameAsync(harness, cancellationToken), Is.EqualTo((0x8A, "p")));
        Assert.That(await ReadFrameAsync(harness, cancellationToken), Is.EqualTo((0x82, "abcdef")));

        // The close handshake: the server answers with the same code and ends the connection.
        await harness.SendBytesAsync(ClientFrame(0x8, [0x03, 0xE8, (byte)'b', (byte)'y', (byte)'e']), cancellationToken);
        var close = await ReadFrameAsync(harness, cancellationToken);
        Assert.That(close.Header, Is.EqualTo(0x88));
        Assert.That(Encoding.Latin1.GetBytes(close.Payload), Is.EqualTo(new byte[] { 0x03, 0xE8 }));
        await harness.Run.WaitAsync(cancellationToken);
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task LargeMessagesArriveWholeWhenFedByteByByte(CancellationToken cancellationToken)
    {
        await using var harness = await OpenAsync(EchoServer(out _, limit: 1 << 20), cancellationToken);
        var payload = new byte[70_000];
        Random.Shared.NextBytes(payload);
        foreach (var b in ClientFrame(0x2, payload))
        {
            await harness.SendBytesAsync([b], cancellationToken);
        }

        var header = await harness.ReadBytesAsync(10, cancellationToken);
        Assert.That(header[0], Is.EqualTo(0x82));
        Assert.That(header[1], Is.EqualTo(127));
        Assert.That(BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(2)), Is.EqualTo((ulong)payload.Length));
        Assert.That(await harness.ReadBytesAsync(payload.Length, cancellationToken), Is.EqualTo(payload));
    }

    [TestCase(new byte[] { 0x81, 0x02, (byte)'h', (byte)'i' }, 1002, TestName = "AnUnmaskedFrame")]
    [TestCase(null, 1002, TestName = "AReservedOpcode")]
    [TestCase(new byte[0], 1002, TestName = "AContinuationWithNothingToContinue")]
    [TestCase(new byte[] { 0xFF }, 1007, TestName = "TextThatIsNotUtf8")]
    [TestCase(new byte[] { 1 }, 1009, TestName = "AMessageBeyondTheLimit")]
    [TestCase(new byte[] { 2 }, 1002, TestName = "AFragmentedPing")]
    [TestCase(new byte[] { 3 }, 1002, TestName = "ACloseWithACodeThatMayNotBeSent")]
    [CancelAfter(10_000)]
    public async Task AProtocolErrorClosesTheSessionWithItsCode(byte[]? input, int code, CancellationToken cancellationToken)
    {
        await using var harness = await OpenAsync(EchoServer(out var closed), cancellationToken);
        var frame = (input, code) switch
        {
            (null, _) => ClientFrame(0x3, "x"u8.ToArray()),
            ({ Length: 0 }, _) => ClientFrame(0x0, "x"u8.ToArray()),
            ([0xFF], 1007) => ClientFrame(0x1, [(byte)'a', 0xFF]),
            ([1], 1009) => ClientFrame(0x2, new byte[1025]),
            ([2], _) => ClientFrame(0x9, "p"u8.ToArray(), fin: false),
            ([3], _) => ClientFrame(0x8, [0x03, 0xED]),
            _ => input,
        };
        await harness.SendBytesAsync(frame, cancellationToken);
        var close = await ReadFrameAsync(harness, cancellationToken);
        Assert.That(close.Header, Is.EqualTo(0x88));
        Assert.That(BinaryPrimitives.ReadUInt16BigEndian(Encoding.Latin1.GetBytes(close.Payload)), Is.EqualTo(code));
        Assert.That(await closed.Task.WaitAsync(cancellationToken), Is.EqualTo(code));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task AConnectionThatEndsWithoutACloseFrameIsAnAbnormalClose(CancellationToken cancellationToken)
    {
        await using var harness = await OpenAsync(EchoServer(out var closed), cancellationToken);
        await harness.SendBytesAsync(ClientFrame(0x2, "abc"u8.ToArray())[..5], cancellationToken);
        await harness.CloseInputAsync();
        Assert.That(await closed.Task.WaitAsync(cancellationToken), Is.EqualTo(WebSocketCloseStatus.Abnormal));
    }

    /// <summary>A server whose sessions echo every message (at most <paramref name="limit"/> bytes); <paramref name="closed"/> gets the close code.</summary>
    private static RecordingHandler EchoServer(out TaskCompletionSource<int> closed, int limit = 1024)
    {
        var done = closed = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        return new RecordingHandler(request => ValueTask.FromResult(WebSocketHandshake.Accept(request, async connection =>
        {
            await using var session = new WebSocketConnection(connection.Transport, maxMessageBytes: limit);
            using var message = new PooledBuffer();
            while (true)
            {
                message.Reset(keepAtMost: 1 << 20);
                var type = await session.ReceiveAsync(message, connection.Stopping);
                if (type == WebSocketMessageType.Close)
                {
                    done.TrySetResult(session.CloseStatus ?? 0);
                    return;
                }

                await session.SendAsync(type, message.WrittenMemory, connection.Stopping);
            }
        })));
    }

    private static async Task<PipeHarness> OpenAsync(RecordingHandler handler, CancellationToken cancellationToken)
    {
        var harness = new PipeHarness(handler);
        await harness.SendAsync($"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
            $"Sec-WebSocket-Key: {Key}\r\n\r\n", cancellationToken);
        var response = await harness.ReadResponseAsync(cancellationToken, headOnly: true);
        Assert.That(response!.Status, Is.EqualTo(101));
        Assert.That(response.Header("Upgrade"), Is.EqualTo("websocket"));
        Assert.That(response.Header("Connection"), Is.EqualTo("Upgrade"));
        Assert.That(response.Header("Sec-WebSocket-Accept"), Is.EqualTo("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
        return harness;
    }

    /// <summary>A masked client frame.</summary>
    private static byte[] ClientFrame(int opcode, byte[] payload, bool fin = true)
    {
        var frame = new ArrayBufferWriter<byte>();
        var header = frame.GetSpan(14);
        header[0] = (byte)((fin ? 0x80 : 0) | opcode);
        int length;
        if (payload.Length < 126)
        {
            header[1] = (byte)(0x80 | payload.Length);
            length = 2;
        }
        else if (payload.Length <= ushort.MaxValue)
        {
            header[1] = 0x80 | 126;
            BinaryPrimitives.WriteUInt16BigEndian(header[2..], (ushort)payload.Length);
            length = 4;
        }
        else
        {
            header[1] = 0x80 | 127;
            BinaryPrimitives.WriteUInt64BigEndian(header[2..], (ulong)payload.Length);
            length = 10;
        }

        byte[] mask = [0x37, 0xFA, 0x21, 0x3D];
        mask.CopyTo(header[length..]);
        frame.Advance(length + 4);
        var masked = payload.Select((b, i) => (byte)(b ^ mask[i % 4])).ToArray();
        frame.Write(masked);
        return frame.WrittenSpan.ToArray();
    }

    /// <summary>Reads one short server frame (payload under 126 bytes): its first byte and its payload as Latin-1.</summary>
    private static async Task<(int Header, string Payload)> ReadFrameAsync(PipeHarness harness, CancellationToken cancellationToken)
    {
        var head = await harness.ReadBytesAsync(2, cancellationToken);
        Assert.That(head[1] & 0x80, Is.Zero, "a server frame is never masked");
        var length = head[1] & 0x7F;
        if (length == 126)
        {
            length = BinaryPrimitives.ReadUInt16BigEndian(await harness.ReadBytesAsync(2, cancellationToken));
        }

        var payload = await harness.ReadBytesAsync(length, cancellationToken);
        return (head[0], Encoding.Latin1.GetString(payload));
    }
}
