using System.Net;
using System.Text;

namespace LeanProxy.Listener;

/// <summary>
/// One parsed request as the engine sees it. The head is kept as the raw bytes the client sent
/// (request line and header fields, in order, repeated names kept); accessors hand out spans into it,
/// so no per-request strings are made unless a caller asks for one. Instances are reused per connection:
/// a request is only valid until <see cref="IProxyRequestHandler.HandleAsync"/> completes.
/// </summary>
public sealed class ProxyRequest
{
    private byte[] _head = new byte[1024];
    private HeaderField[] _fields = new HeaderField[16];

    internal ProxyRequest()
    {
    }

    /// <summary>The method as a string (known methods are shared instances; no allocation).</summary>
    public string Method { get; internal set; } = HttpMethods.Get;

    /// <summary>The known method, or <see cref="HttpMethod.Custom"/>.</summary>
    public HttpMethod KnownMethod { get; internal set; }

    /// <summary>HTTP/1.0 or HTTP/1.1.</summary>
    public HttpVersion Version { get; internal set; }

    /// <summary>The request-target exactly as sent (origin-form, absolute-form, authority-form or "*").</summary>
    public ReadOnlySpan<byte> Target => _head.AsSpan(TargetRange.Start, TargetRange.Length);

    internal Slice TargetRange { get; set; }

    /// <summary>The number of header fields.</summary>
    public int HeaderCount { get; private set; }

    /// <summary>The name of header field <paramref name="index"/> as sent (case kept).</summary>
    public ReadOnlySpan<byte> HeaderName(int index) => Get(_fields[index].Name);

    /// <summary>The value of header field <paramref name="index"/>, without surrounding whitespace.</summary>
    public ReadOnlySpan<byte> HeaderValue(int index) => Get(_fields[index].Value);

    /// <summary>The Host header's value (or the authority of an absolute-form target); empty when none.</summary>
    public ReadOnlySpan<byte> Host => HostIndex >= 0 ? HeaderValue(HostIndex) : default;

    internal int HostIndex { get; set; } = -1;

    /// <summary>The request body, fully received (de-chunked). Empty when there is none.</summary>
    public ReadOnlyMemory<byte> Body { get; internal set; }

    public EndPoint? RemoteEndPoint
    {
        get => _remoteEndPoint;
        internal set
        {
            _remoteEndPoint = value;
            _remoteAddress = null;
        }
    }

    /// <summary>The client's IP address as text (IPv4-mapped IPv6 shown as IPv4); made once per connection.</summary>
    public string RemoteAddress => _remoteAddress ??= Addresses.Text(_remoteEndPoint);

    /// <summary>The client's port, or 0.</summary>
    public int RemotePort => Addresses.Port(_remoteEndPoint);

    private EndPoint? _remoteEndPoint;
    private string? _remoteAddress;

    public EndPoint? LocalEndPoint { get; internal set; }

    /// <summary>The connection this request arrived on, for logs.</summary>
    public long ConnectionId { get; internal set; }

    /// <summary>Whether the client wants the connection kept open after this request.</summary>
    public bool KeepAlive { get; internal set; }

    /// <summary>Makes a string of the target (for logs and tests; the hot path uses <see cref="Target"/>).</summary>
    public string TargetString => Encoding.Latin1.GetString(Target);

    /// <summary>Finds the first header with the given name (ASCII case-insensitive); -1 when absent.</summary>
    public int FindHeader(ReadOnlySpan<byte> name)
    {
        for (var i = 0; i < HeaderCount; i++)
        {
            if (Ascii.EqualsIgnoreCase(HeaderName(i), name))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The first value of the named header as a string, or null (for tests and diagnostics).</summary>
    public string? GetHeader(string name)
    {
        var index = FindHeader(Encoding.ASCII.GetBytes(name));
        return index < 0 ? null : Encoding.Latin1.GetString(HeaderValue(index));
    }

    private ReadOnlySpan<byte> Get(Slice slice) => _head.AsSpan(slice.Start, slice.Length);

    /// <summary>Starts a new request: copies the raw head so that it outlives the connection's read buffer.</summary>
    internal Span<byte> ResetHead(int length)
    {
        if (_head.Length < length)
        {
            _head = new byte[Math.Max(length, _head.Length * 2)];
        }

        HeaderCount = 0;
        HostIndex = -1;
        Body = default;
        return _head.AsSpan(0, length);
    }

    internal void AddHeader(Slice name, Slice value)
    {
        if (HeaderCount == _fields.Length)
        {
            Array.Resize(ref _fields, _fields.Length * 2);
        }

        _fields[HeaderCount++] = new HeaderField(name, value);
    }

    internal readonly record struct Slice(int Start, int Length);

    private readonly record struct HeaderField(Slice Name, Slice Value);
}
