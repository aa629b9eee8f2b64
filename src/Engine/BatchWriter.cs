using System.Buffers;
using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using LeanProxy.Cdp;
using LeanProxy.Listener;

namespace LeanProxy.Engine;

/// <summary>
/// Encodes a batch of items (requests, datagrams, connection messages) as the expression <c>__lp.d([...])</c> (see Runtime/runtime.js for the item format).
/// Header names and values stay bytes: ASCII goes out as is, anything else as Latin-1 ("ByteString") text;
/// a body goes as text when it is ASCII, else as base64 (Chromium would escape every non-ASCII character).
/// </summary>
internal static class BatchWriter
{
    private static readonly JsonWriterOptions Options = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    public static void Write(IBufferWriter<byte> output, IReadOnlyList<TabItem> batch)
    {
        Append(output, "__lp.d("u8);
        var writer = t_writer ??= new Utf8JsonWriter(output, Options);
        writer.Reset(output);
        writer.WriteStartArray();
        foreach (var item in batch)
        {
            item.Write(writer);
        }

        writer.WriteEndArray();
        writer.Flush();
        writer.Reset(PooledBufferWriter.Nowhere);
        Append(output, ")"u8);
    }

    internal static void WriteRequest(Utf8JsonWriter writer, int id, ProxyRequest request)
    {
        writer.WriteStartArray();
        writer.WriteNumberValue(id);
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
            writer.WriteNumberValue(0);
        }
        else if (Ascii.IsValid(body))
        {
            writer.WriteStringValue(body);
            writer.WriteNumberValue(1);
        }
        else
        {
            writer.WriteBase64StringValue(body);
            writer.WriteNumberValue(2);
        }

        writer.WriteStringValue(request.RemoteAddress);
        writer.WriteNumberValue(request.RemotePort);

        writer.WriteEndArray();
    }

    /// <summary>Writes bytes as a [data, encoding] pair: text (1) when ASCII, including empty, else base64 (2).</summary>
    internal static void WriteData(Utf8JsonWriter writer, ReadOnlySpan<byte> data)
    {
        if (Ascii.IsValid(data))
        {
            writer.WriteStringValue(data);
            writer.WriteNumberValue(1);
        }
        else
        {
            writer.WriteBase64StringValue(data);
            writer.WriteNumberValue(2);
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
