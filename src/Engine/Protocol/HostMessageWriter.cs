using System.Buffers;
using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using LeanProxy.Cdp;
using LeanProxy.Listener;

namespace LeanProxy.Engine.Protocol;

/// <summary>
/// The one writer of host → page messages (<see cref="HostMessageKind"/>): a batch becomes the expression
/// <c>__lp.d([...])</c>. Header names and values stay bytes: ASCII goes out as is, anything else as Latin-1
/// ("ByteString") text; bytes go as text when they are ASCII, else as base64 (Chromium would escape every non-ASCII
/// character).
/// </summary>
internal static class HostMessageWriter
{
    private static readonly JsonWriterOptions Options = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    // The data plane of the batch being written (see WriteData), and the highest of its messages the batch refers to.
    [ThreadStatic]
    private static DataPlane.TabDataPlane? t_plane;

    [ThreadStatic]
    private static long t_need;

    /// <summary>
    /// Writes the batch expression: every item, in order. Bytes of <see cref="DataPlane.TabDataPlane.InlineMax"/> or more
    /// go on <paramref name="plane"/> (when it is open), and the expression then says which of its messages the page must
    /// have before it runs the batch: <c>__lp.d([...], need)</c>.
    /// </summary>
    public static void WriteBatch(IBufferWriter<byte> output, IReadOnlyList<TabItem> batch, DataPlane.TabDataPlane? plane = null)
    {
        Append(output, "__lp.d("u8);
        var writer = t_writer ??= new Utf8JsonWriter(output, Options);
        writer.Reset(output);
        t_plane = plane;
        t_need = 0;
        try
        {
            writer.WriteStartArray();
            foreach (var item in batch)
            {
                item.Write(writer);
            }

            writer.WriteEndArray();
            writer.Flush();
        }
        finally
        {
            t_plane = null;
            writer.Reset(PooledBufferWriter.Nowhere);
            plane?.Flush(); // the batch's bodies leave as one data-plane message, ahead of the batch itself
        }

        if (t_need > 0)
        {
            Append(output, ","u8);
            var span = output.GetSpan(20);
            System.Buffers.Text.Utf8Formatter.TryFormat(t_need, span, out var written);
            output.Advance(written);
        }

        Append(output, ")"u8);
    }

    public static void WriteRequest(Utf8JsonWriter writer, int id, ProxyRequest request)
    {
        Start(writer, HostMessageKind.Request, id);
        writer.WriteStringValue(request.Method);
        WriteUrl(writer, request);
        writer.WriteStartArray();
        for (var i = 0; i < request.HeaderCount; i++)
        {
            WriteByteString(writer, request.HeaderName(i));
            WriteByteString(writer, request.HeaderValue(i));
        }

        writer.WriteEndArray();
        var body = request.Body.Span;
        if (body.IsEmpty || request.KnownMethod is Listener.HttpMethod.Get or Listener.HttpMethod.Head)
        {
            writer.WriteNullValue();
            writer.WriteNumberValue((int)BodyEncoding.None);
        }
        else
        {
            WriteData(writer, body);
        }

        writer.WriteStringValue(request.RemoteAddress);
        writer.WriteNumberValue(request.RemotePort);
        writer.WriteEndArray();
    }

    public static void WriteDatagram(Utf8JsonWriter writer, int id, ReadOnlySpan<byte> message, string remoteAddress, int remotePort)
    {
        Start(writer, HostMessageKind.Datagram, id);
        WriteData(writer, message);
        writer.WriteStringValue(remoteAddress);
        writer.WriteNumberValue(remotePort);
        writer.WriteEndArray();
    }

    public static void WriteTcpOpen(Utf8JsonWriter writer, int id, string remoteAddress, int remotePort)
    {
        Start(writer, HostMessageKind.TcpOpen, id);
        writer.WriteStringValue(remoteAddress);
        writer.WriteNumberValue(remotePort);
        writer.WriteEndArray();
    }

    public static void WriteTcpData(Utf8JsonWriter writer, int id, ReadOnlySpan<byte> data)
    {
        Start(writer, HostMessageKind.TcpData, id);
        WriteData(writer, data);
        writer.WriteEndArray();
    }

    /// <summary>A message with a count (<see cref="HostMessageKind.TcpAck"/>, <see cref="HostMessageKind.StreamAck"/>).</summary>
    public static void WriteCount(Utf8JsonWriter writer, HostMessageKind kind, int id, long count)
    {
        Start(writer, kind, id);
        writer.WriteNumberValue(count);
        writer.WriteEndArray();
    }

    /// <summary>A message that is only its kind and id (<see cref="HostMessageKind.TcpEof"/>, TcpAbort, StreamCancel).</summary>
    public static void WriteSignal(Utf8JsonWriter writer, HostMessageKind kind, int id)
    {
        Start(writer, kind, id);
        writer.WriteEndArray();
    }

    /// <summary><c>[10, callId, ok, </c>: the caller writes the result and ends the message (see <see cref="Kv.KvResult"/>).</summary>
    public static void WriteKvReplyStart(Utf8JsonWriter writer, int callId, bool ok)
    {
        Start(writer, HostMessageKind.KvReply, callId);
        writer.WriteNumberValue(ok ? 1 : 0);
    }

    /// <summary><c>[11, 0, binding, key]</c>: null binding, everything; null key, the whole binding.</summary>
    public static void WriteKvInvalidate(Utf8JsonWriter writer, string? binding, byte[]? key)
    {
        Start(writer, HostMessageKind.KvInvalidate, 0);
        if (binding is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            writer.WriteStringValue(binding);
        }

        if (key is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            writer.WriteStringValue(System.Text.Encoding.UTF8.GetString(key));
        }

        writer.WriteEndArray();
    }

    /// <summary><c>[12, fetchId, status, statusText, [name, value, …], url, redirected]</c>.</summary>
    public static void WriteFetchHead(Utf8JsonWriter writer, int fetchId, int status, string statusText,
        IReadOnlyList<KeyValuePair<string, string>> headers, string url, bool redirected)
    {
        Start(writer, HostMessageKind.FetchHead, fetchId);
        writer.WriteNumberValue(status);
        writer.WriteStringValue(statusText);
        writer.WriteStartArray();
        foreach (var (name, value) in headers)
        {
            writer.WriteStringValue(name);
            writer.WriteStringValue(value);
        }

        writer.WriteEndArray();
        writer.WriteStringValue(url);
        writer.WriteNumberValue(redirected ? 1 : 0);
        writer.WriteEndArray();
    }

    /// <summary><c>[13, fetchId, offset, data, BodyEncoding]</c>.</summary>
    public static void WriteFetchChunk(Utf8JsonWriter writer, int fetchId, long offset, ReadOnlySpan<byte> data)
    {
        Start(writer, HostMessageKind.FetchChunk, fetchId);
        writer.WriteNumberValue(offset);
        WriteData(writer, data);
        writer.WriteEndArray();
    }

    /// <summary><c>[15, fetchId, kind, message]</c>.</summary>
    public static void WriteFetchError(Utf8JsonWriter writer, int fetchId, string kind, string message)
    {
        Start(writer, HostMessageKind.FetchError, fetchId);
        writer.WriteStringValue(kind);
        writer.WriteStringValue(message);
        writer.WriteEndArray();
    }

    private static void Start(Utf8JsonWriter writer, HostMessageKind kind, int id)
    {
        writer.WriteStartArray();
        writer.WriteNumberValue((int)kind);
        writer.WriteNumberValue(id);
    }

    /// <summary>Bytes as a [data, encoding] pair: the number of their data-plane message when they are large and the plane
    /// is open, else text when ASCII (including empty), else base64.</summary>
    internal static void WriteData(Utf8JsonWriter writer, ReadOnlySpan<byte> data)
    {
        if (t_plane is { } plane && plane.Carries(data.Length))
        {
            t_need = plane.Send(data);
            writer.WriteNumberValue(t_need);
            writer.WriteNumberValue((int)BodyEncoding.Data);
        }
        else if (Ascii.IsValid(data))
        {
            writer.WriteStringValue(data);
            writer.WriteNumberValue((int)BodyEncoding.Text);
        }
        else
        {
            writer.WriteBase64StringValue(data);
            writer.WriteNumberValue((int)BodyEncoding.Base64);
        }
    }

    private static void WriteUrl(Utf8JsonWriter writer, ProxyRequest request)
    {
        var target = request.Target;
        if (target.Length > 0 && target[0] != (byte)'/' && target[0] != (byte)'*' && target.IndexOf("://"u8) > 0)
        {
            writer.WriteStringValue(target);
            return;
        }

        var host = request.Host;
        if (host.IsEmpty || !Ascii.IsValid(host))
        {
            // HTTP/1.0 without Host: the address the client connected to stands in.
            var local = request.LocalEndPoint as IPEndPoint;
            host = Encoding.ASCII.GetBytes(local is null ? "localhost" : local.ToString());
        }

        var scheme = "http://"u8;
        var path = target.Length > 0 && target[0] == (byte)'/' ? target : "/"u8;
        var total = scheme.Length + host.Length + path.Length;
        var rented = ArrayPool<byte>.Shared.Rent(total);
        try
        {
            scheme.CopyTo(rented);
            host.CopyTo(rented.AsSpan(scheme.Length));
            path.CopyTo(rented.AsSpan(scheme.Length + host.Length));
            writer.WriteStringValue(rented.AsSpan(0, total));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static void WriteByteString(Utf8JsonWriter writer, ReadOnlySpan<byte> value)
    {
        if (Ascii.IsValid(value))
        {
            writer.WriteStringValue(value);
        }
        else
        {
            writer.WriteStringValue(Encoding.Latin1.GetString(value));
        }
    }

    private static void Append(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        var span = output.GetSpan(bytes.Length);
        bytes.CopyTo(span);
        output.Advance(bytes.Length);
    }
}
