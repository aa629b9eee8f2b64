using System.Text;
using BenchmarkDotNet.Attributes;
using LeanProxy.Cdp;
using LeanProxy.Cdp.Transport;

namespace LeanProxy.Benchmarks;

/// <summary>
/// The CDP hot paths: scanning a frame's envelope (expected: 0 bytes) and the send path of a Runtime.evaluate
/// (expected: 0 bytes: the pending call and the message buffer are pooled).
/// </summary>
[MemoryDiagnoser]
public class CdpBenchmarks
{
    private static readonly byte[] Reply = Encoding.UTF8.GetBytes(
        """{"id":123456,"result":{"result":{"type":"object","value":[[1,200,"",["content-type","application/json"],"{\"method\":\"GET\",\"path\":\"/bench/path\",\"n\":1}",1]]}},"sessionId":"0123456789ABCDEF0123456789ABCDEF"}""");

    private static readonly byte[] Event = Encoding.UTF8.GetBytes(
        """{"method":"Runtime.bindingCalled","params":{"name":"__lpDone","payload":"[[1,200,\"\",[],\"x\",1]]","executionContextId":1},"sessionId":"0123456789ABCDEF0123456789ABCDEF"}""");

    private static readonly byte[] Expression = Encoding.UTF8.GetBytes(
        "__lp.d([[1,\"GET\",\"http://127.0.0.1:8080/bench/path?x=1\",[\"Host\",\"127.0.0.1:8080\",\"User-Agent\",\"wrk/4.1\"],null,0,\"127.0.0.1\",50000]])");

    private CdpConnection _connection = null!;
    private LeanProxy.Buffers.PooledBuffer _expression = null!;

    [GlobalSetup]
    public void Setup()
    {
        _connection = new CdpConnection(new DiscardTransport());
        _expression = PooledBufferWriter.Rent();
        _expression.GetSpan(Expression.Length);
        Expression.CopyTo(_expression.GetSpan(Expression.Length));
        _expression.Advance(Expression.Length);
    }

    [Benchmark]
    public int ScanReplyEnvelope()
    {
        CdpEnvelope.TryScan(Reply, out var envelope);
        return envelope.Id;
    }

    [Benchmark]
    public int ScanEventEnvelope()
    {
        CdpEnvelope.TryScan(Event, out var envelope);
        return envelope.MethodLength;
    }

    private readonly byte[] _reply = new byte[64];
    private int _nextId;

    /// <summary>Sends a Runtime.evaluate and feeds its reply back through the receive path (scan, complete).</summary>
    [Benchmark]
    public bool SendEvaluateAndReceiveReply()
    {
        var task = _connection.SendAsync(
            "Runtime.evaluate",
            _expression,
            static (writer, buffer) =>
            {
                writer.WriteString("expression"u8, buffer.WrittenSpan);
                writer.WriteBoolean("awaitPromise"u8, true);
                writer.WriteBoolean("returnByValue"u8, true);
            },
            static _ => true,
            "0123456789ABCDEF0123456789ABCDEF",
            CancellationToken.None);
        var id = ++_nextId;
        "{\"id\":"u8.CopyTo(_reply);
        System.Buffers.Text.Utf8Formatter.TryFormat(id, _reply.AsSpan(6), out var digits);
        "}"u8.CopyTo(_reply.AsSpan(6 + digits));
        _connection.OnMessage(_reply.AsSpan(0, 7 + digits));
        return task.IsCompleted && task.GetAwaiter().GetResult(); // taking the result returns the call to its pool
    }

    private sealed class DiscardTransport : ICdpTransport
    {
        public ValueTask SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public Task ReceiveLoopAsync(CdpMessageHandler onMessage, CancellationToken cancellationToken) => Task.Delay(Timeout.Infinite, cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
