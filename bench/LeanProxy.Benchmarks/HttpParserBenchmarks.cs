using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using LeanProxy.Listener;
using LeanProxy.Listener.Http;

namespace LeanProxy.Benchmarks;

/// <summary>Parsing a request head with 10 header fields: expected to allocate nothing.</summary>
[MemoryDiagnoser]
public class HttpParserBenchmarks
{
    private static readonly byte[] Head = Encoding.ASCII.GetBytes(
        "GET /bench/path?x=1 HTTP/1.1\r\n" +
        "Host: 127.0.0.1:8080\r\n" +
        "User-Agent: wrk/4.1\r\n" +
        "Accept: */*\r\n" +
        "Accept-Encoding: gzip, deflate\r\n" +
        "Accept-Language: en-US,en;q=0.9\r\n" +
        "Connection: keep-alive\r\n" +
        "Cache-Control: no-cache\r\n" +
        "Pragma: no-cache\r\n" +
        "X-Request-Id: 0123456789abcdef\r\n" +
        "Cookie: session=abc; theme=dark\r\n\r\n");

    private readonly ProxyRequest _request = new();
    private readonly HttpListenerOptions _options = new();
    private ReadOnlySequence<byte> _buffer;

    [GlobalSetup]
    public void Setup() => _buffer = new ReadOnlySequence<byte>(Head);

    [Benchmark]
    public bool ParseHeadWith10Headers() => HttpParser.TryParseHead(_buffer, _request, _options, out _, out _);
}
