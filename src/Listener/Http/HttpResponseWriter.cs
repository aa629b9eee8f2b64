using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace LeanProxy.Listener.Http;

/// <summary>Writes response heads and bodies into an <see cref="IBufferWriter{T}"/>; the caller decides when to flush.</summary>
public static class HttpResponseWriter
{
    /// <summary>Whether a response with this status to this method carries no body (RFC 9110 §6.4.1).</summary>
    public static bool HasNoBody(int status, HttpMethod method) =>
        method == HttpMethod.Head || status is 204 or 304 || (status >= 100 && status < 200);

    /// <summary>
    /// Writes the status line and header fields. <paramref name="contentLength"/> -1 means chunked.
    /// Framing and connection headers set by the handler are dropped: the server owns them.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1002", Justification = "ProxyResponse.Headers is a List on purpose (the hot path).")]
    public static void WriteHead(
        IBufferWriter<byte> writer,
        int status,
        string? reasonPhrase,
        List<KeyValuePair<string, string>> headers,
        long contentLength,
        bool close,
        bool suppressLength,
        string? serverHeader)
    {
        if (reasonPhrase is null || reasonPhrase == StatusLines.ReasonPhrase(status))
        {
            Write(writer, StatusLines.Get(status));
        }
        else
        {
            Write(writer, "HTTP/1.1 "u8);
            WriteNumber(writer, status);
            Write(writer, " "u8);
            WriteLatin1(writer, Sanitize(reasonPhrase));
            Write(writer, "\r\n"u8);
        }

        var hasDate = false;
        foreach (var (name, value) in headers)
        {
            if (IsServerOwned(name))
            {
                continue;
            }

            if (name.Equals("date", StringComparison.OrdinalIgnoreCase))
            {
                hasDate = true;
            }

            WriteLatin1(writer, name);
            Write(writer, ": "u8);
            WriteLatin1(writer, Sanitize(value));
            Write(writer, "\r\n"u8);
        }

        if (!hasDate)
        {
            Write(writer, DateHeader.Line);
        }

        if (serverHeader is not null)
        {
            Write(writer, "Server: "u8);
            WriteLatin1(writer, serverHeader);
            Write(writer, "\r\n"u8);
        }

        if (!suppressLength)
        {
            if (contentLength >= 0)
            {
                Write(writer, "Content-Length: "u8);
                WriteNumber(writer, contentLength);
                Write(writer, "\r\n"u8);
            }
            else
            {
                Write(writer, "Transfer-Encoding: chunked\r\n"u8);
            }
        }

        if (close)
        {
            Write(writer, "Connection: close\r\n"u8);
        }

        Write(writer, "\r\n"u8);
    }

    /// <summary>The head of a <c>101 Switching Protocols</c>: the handler's fields, then <c>Upgrade</c> and <c>Connection: Upgrade</c>.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1002", Justification = "ProxyResponse.Headers is a List on purpose (the hot path).")]
    public static void WriteUpgradeHead(IBufferWriter<byte> writer, List<KeyValuePair<string, string>> headers, string protocol, string? serverHeader)
    {
        ArgumentNullException.ThrowIfNull(protocol);
        Write(writer, StatusLines.Get(101));
        foreach (var (name, value) in headers)
        {
            if (IsServerOwned(name))
            {
                continue;
            }

            WriteLatin1(writer, name);
            Write(writer, ": "u8);
            WriteLatin1(writer, Sanitize(value));
            Write(writer, "\r\n"u8);
        }

        if (serverHeader is not null)
        {
            Write(writer, "Server: "u8);
            WriteLatin1(writer, serverHeader);
            Write(writer, "\r\n"u8);
        }

        Write(writer, "Upgrade: "u8);
        WriteLatin1(writer, Sanitize(protocol));
        Write(writer, "\r\nConnection: Upgrade\r\n\r\n"u8);
    }

    /// <summary>Writes one chunk of a chunked body (nothing for an empty chunk: that would end the body).</summary>
    public static void WriteChunk(IBufferWriter<byte> writer, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        var span = writer.GetSpan(18);
        data.Length.TryFormat(span, out var written, "x");
        span[written++] = (byte)'\r';
        span[written++] = (byte)'\n';
        writer.Advance(written);
        Write(writer, data);
        Write(writer, "\r\n"u8);
    }

    public static void WriteLastChunk(IBufferWriter<byte> writer) => Write(writer, "0\r\n\r\n"u8);

    /// <summary>A complete error response produced by the server itself (never by a handler).</summary>
    public static void WriteError(IBufferWriter<byte> writer, int status, string message, bool headOnly)
    {
        var body = Encoding.UTF8.GetBytes(message + "\n");
        List<KeyValuePair<string, string>> headers = [new("Content-Type", "text/plain; charset=utf-8")];
        WriteHead(writer, status, null, headers, body.Length, close: true, suppressLength: false, serverHeader: null);
        if (!headOnly)
        {
            Write(writer, body);
        }
    }

    internal static bool IsServerOwned(string name) => name.Length switch
    {
        10 => name.Equals("connection", StringComparison.OrdinalIgnoreCase) || name.Equals("keep-alive", StringComparison.OrdinalIgnoreCase),
        14 => name.Equals("content-length", StringComparison.OrdinalIgnoreCase),
        17 => name.Equals("transfer-encoding", StringComparison.OrdinalIgnoreCase),
        7 => name.Equals("upgrade", StringComparison.OrdinalIgnoreCase),
        _ => false,
    };

    /// <summary>CR, LF and NUL can never reach the wire inside a field (response splitting).</summary>
    private static string Sanitize(string value) =>
        value.AsSpan().IndexOfAny('\r', '\n', '\0') < 0 ? value : value.Replace("\r", "", StringComparison.Ordinal).Replace("\n", "",
            StringComparison.Ordinal).Replace("\0", "", StringComparison.Ordinal);

    private static void Write(IBufferWriter<byte> writer, ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return;
        }

        var span = writer.GetSpan(bytes.Length);
        bytes.CopyTo(span);
        writer.Advance(bytes.Length);
    }

    private static void WriteLatin1(IBufferWriter<byte> writer, string value)
    {
        var span = writer.GetSpan(value.Length);
        var written = Encoding.Latin1.GetBytes(value, span);
        writer.Advance(written);
    }

    private static void WriteNumber(IBufferWriter<byte> writer, long value)
    {
        var span = writer.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out var written);
        writer.Advance(written);
    }
}
