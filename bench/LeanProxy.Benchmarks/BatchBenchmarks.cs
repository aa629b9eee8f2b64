using System.Buffers;
using System.Net;
using System.Text;
using BenchmarkDotNet.Attributes;
using LeanProxy.Engine.Calls;
using LeanProxy.Engine.Protocol;
using LeanProxy.Listener;
using LeanProxy.Listener.Http;

namespace LeanProxy.Benchmarks;

/// <summary>Encoding a batch of requests into one evaluate expression, and decoding a batch of responses.</summary>
[MemoryDiagnoser]
public class BatchBenchmarks
{
    private readonly ArrayBufferWriter<byte> _output = new(64 * 1024);
    private List<PendingRequest> _batch = null!;
    private byte[] _result = null!;

    [Params(1, 32)]
    public int Requests { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var head = Encoding.ASCII.GetBytes("GET /bench/path?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk/4.1\r\nAccept: */*\r\n\r\n");
        _batch = [];
        for (var i = 0; i < Requests; i++)
        {
            var request = new ProxyRequest();
            HttpParser.TryParseHead(new ReadOnlySequence<byte>(head), request, new HttpListenerOptions(), out _, out _);
            request.RemoteEndPoint = new IPEndPoint(IPAddress.Loopback, 50000 + i);
            _batch.Add(new PendingRequest(i + 1, request, long.MaxValue));
        }

        var items = string.Join(",", Enumerable.Range(1, Requests).Select(i => $"[1,{i},200,\"\",[\"content-type\",\"application/json\"],\"{{\\\"method\\\":\\\"GET\\\",\\\"path\\\":\\\"/bench/path\\\",\\\"n\\\":{i}}}\",1]"));
        // The page returns its messages as one JSON string (Runtime/index.js).
        _result = Encoding.UTF8.GetBytes($"{{\"result\":{{\"type\":\"string\",\"value\":{System.Text.Json.JsonSerializer.Serialize("[" + items + "]")}}}}}");
    }

    [Benchmark]
    public int EncodeRequests()
    {
        _output.ResetWrittenCount();
        HostMessageWriter.WriteBatch(_output, _batch);
        return _output.WrittenCount;
    }

    [Benchmark]
    public int DecodeResponses()
    {
        var messages = new List<PageMessage>();
        PageMessageReader.ReadMessages(PageMessageReader.ReadEvaluateResult(_result).Payload.Span, messages);
        return messages.Count;
    }
}
