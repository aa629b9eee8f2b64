using System.Buffers;
using BenchmarkDotNet.Attributes;
using LeanProxy.Listener.Http;

namespace LeanProxy.Benchmarks;

/// <summary>Writing a small JSON response (head and body) into a reused buffer.</summary>
[MemoryDiagnoser]
public class ResponseWriterBenchmarks
{
    private static readonly byte[] Body = """{"method":"GET","path":"/bench/path","n":1}"""u8.ToArray();
    private readonly ArrayBufferWriter<byte> _output = new(4096);
    private readonly List<KeyValuePair<string, string>> _headers = [new("content-type", "application/json")];

    [Benchmark]
    public int WriteJsonResponse()
    {
        _output.ResetWrittenCount();
        HttpResponseWriter.WriteHead(_output, 200, null, _headers, Body.Length, close: false, suppressLength: false, serverHeader: null);
        _output.Write(Body);
        return _output.WrittenCount;
    }
}
