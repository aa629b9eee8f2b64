using System.Buffers;
using System.Text;
using System.Text.Json;
using LeanProxy.Listener;

namespace LeanProxy.Engine.Protocol;

/// <summary>
/// The one reader of page → host messages (<see cref="PageMessageKind"/>), straight from the CDP JSON with one
/// <see cref="Utf8JsonReader"/> pass: each <see cref="ProxyResponse"/> is built without an intermediate object model.
/// </summary>
internal static class PageMessageReader
{
    /// <summary>
    /// Reads the result of <c>Runtime.evaluate(__lp.d(...), returnByValue)</c>: the page's exception, or its messages as
    /// the payload to read with <see cref="ReadMessages"/> (copied: the caller may hold it until its data has arrived).
    /// </summary>
    public static BatchReply ReadEvaluateResult(ReadOnlySpan<byte> json)
    {
        var result = new BatchReply();
        var reader = new Utf8JsonReader(json);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("result"u8))
            {
                reader.Read();
                ReadRemoteObject(ref reader, result);
            }
            else if (reader.ValueTextEquals("exceptionDetails"u8))
            {
                reader.Read();
                result.Exception = ReadExceptionText(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return result;
    }

    /// <summary>
    /// Reads a JSON array of messages (the payload of a <c>__lpDone</c> binding call, or a batch call's result); bytes
    /// that went on the data plane are taken from <paramref name="plane"/>. The payload must not start with its need
    /// (see <see cref="ReadNeed"/>).
    /// </summary>
    public static void ReadMessages(ReadOnlySpan<byte> json, List<PageMessage> messages, DataPlane.TabDataPlane? plane = null)
    {
        if (json.IsEmpty)
        {
            return;
        }

        var reader = new Utf8JsonReader(json);
        reader.Read();
        ReadMessageArray(ref reader, messages, plane);
    }

    /// <summary>
    /// A payload that refers to data-plane messages starts with the highest one it needs and a semicolon
    /// (<c>12;[...]</c>): returns that number (0 when there is none) and leaves <paramref name="payload"/> after it.
    /// </summary>
    public static long ReadNeed(ref ReadOnlySpan<byte> payload)
    {
        long need = 0;
        var i = 0;
        while (i < payload.Length && payload[i] is >= (byte)'0' and <= (byte)'9' && i < 18)
        {
            need = need * 10 + (payload[i] - '0');
            i++;
        }

        if (i == 0 || i >= payload.Length || payload[i] != (byte)';')
        {
            return 0;
        }

        payload = payload[(i + 1)..];
        return need;
    }

    private static void ReadRemoteObject(ref Utf8JsonReader reader, BatchReply result)
    {
        var depth = reader.CurrentDepth;
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("value"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    // The page returns its messages as one JSON string (see Runtime/index.js, dispatch).
                    var payload = new byte[reader.ValueSpan.Length];
                    result.Payload = payload.AsMemory(0, reader.CopyString(payload));
                }
                else
                {
                    reader.Skip();
                }
            }
            else if (reader.TokenType == JsonTokenType.PropertyName)
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private static string ReadExceptionText(ref Utf8JsonReader reader)
    {
        string? text = null;
        string? description = null;
        var depth = reader.CurrentDepth;
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }

            if (reader.ValueTextEquals("text"u8))
            {
                reader.Read();
                text = reader.GetString();
            }
            else if (reader.ValueTextEquals("exception"u8))
            {
                reader.Read();
                var inner = reader.CurrentDepth;
                while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == inner))
                {
                    if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("description"u8))
                    {
                        reader.Read();
                        description = reader.GetString();
                    }
                    else if (reader.TokenType == JsonTokenType.PropertyName)
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return description ?? text ?? "unknown exception";
    }

    private static void ReadMessageArray(ref Utf8JsonReader reader, List<PageMessage> messages, DataPlane.TabDataPlane? plane)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.StartArray)
        {
            messages.Add(ReadMessage(ref reader, plane));
        }
    }

    private static PageMessage ReadMessage(ref Utf8JsonReader reader, DataPlane.TabDataPlane? plane)
    {
        reader.Read();
        var kind = (PageMessageKind)reader.GetInt32();
        reader.Read();
        var id = reader.GetInt32();
        PageMessage message;
        switch (kind)
        {
            case PageMessageKind.Response:
            {
                var response = ReadHead(ref reader);
                reader.Read();
                var body = ReadData(ref reader, plane);
                if (body is not null)
                {
                    response.Body = body;
                }

                message = new PageMessage(kind, id, response);
                break;
            }

            case PageMessageKind.ResponseHead:
                message = new PageMessage(kind, id, ReadHead(ref reader));
                break;

            case PageMessageKind.ResponseFromFetch:
            {
                var response = ReadHead(ref reader);
                reader.Read();
                message = new PageMessage(kind, id, response, Count: reader.GetInt32());
                break;
            }

            case PageMessageKind.BodyChunk or PageMessageKind.DatagramReply or PageMessageKind.TcpWrite:
                reader.Read();
                message = new PageMessage(kind, id, Data: ReadData(ref reader, plane) ?? []);
                break;

            case PageMessageKind.BodyError:
                reader.Read();
                message = new PageMessage(kind, id, ErrorMessage: ReadOptionalString(ref reader));
                break;

            case PageMessageKind.HandlerError:
            {
                reader.Read();
                var failure = (HandlerFailure)reader.GetInt32();
                reader.Read();
                var text = ReadOptionalString(ref reader);
                reader.Read();
                message = new PageMessage(kind, id, Failure: failure, ErrorMessage: text, ErrorStack: ReadOptionalString(ref reader));
                break;
            }

            case PageMessageKind.TcpAck:
                reader.Read();
                message = new PageMessage(kind, id, Count: reader.TokenType == JsonTokenType.Number ? reader.GetInt64() : 0);
                break;

            case PageMessageKind.TcpError:
            {
                reader.Read();
                var text = ReadOptionalString(ref reader);
                reader.Read();
                message = new PageMessage(kind, id, ErrorMessage: text, ErrorStack: ReadOptionalString(ref reader));
                break;
            }

            case PageMessageKind.BodyEnd or PageMessageKind.DatagramNoReply or PageMessageKind.TcpShutdownWrite or PageMessageKind.TcpClose:
                message = new PageMessage(kind, id);
                break;

            default:
                throw new FormatException($"The page sent a message of unknown kind {(int)kind}.");
        }

        SkipToEndOfArray(ref reader);
        return message;
    }

    /// <summary>status, statusText, [name, value, …]: the head of a response.</summary>
    private static ProxyResponse ReadHead(ref Utf8JsonReader reader)
    {
        reader.Read();
        var response = new ProxyResponse(reader.GetInt32());
        reader.Read();
        var statusText = ReadOptionalString(ref reader);
        response.ReasonPhrase = string.IsNullOrEmpty(statusText) ? null : statusText;
        reader.Read();
        if (reader.TokenType == JsonTokenType.StartArray)
        {
            while (reader.Read() && reader.TokenType == JsonTokenType.String)
            {
                var name = reader.GetString()!;
                reader.Read();
                response.Headers.Add(new(name, reader.GetString() ?? string.Empty));
            }
        }

        return response;
    }

    private static string? ReadOptionalString(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.String ? reader.GetString() : null;

    /// <summary>Reads a [data, BodyEncoding] pair as bytes (null for <see cref="BodyEncoding.None"/>); leaves the reader on the encoding.</summary>
    private static byte[]? ReadData(ref Utf8JsonReader reader, DataPlane.TabDataPlane? plane)
    {
        byte[]? data = null;
        long number = 0;
        if (reader.TokenType == JsonTokenType.String)
        {
            data = reader.ValueIsEscaped ? Encoding.UTF8.GetBytes(reader.GetString()!) : reader.ValueSpan.ToArray();
        }
        else if (reader.TokenType == JsonTokenType.Number)
        {
            number = reader.GetInt64();
        }

        reader.Read();
        var encoding = reader.TokenType == JsonTokenType.Number ? (BodyEncoding)reader.GetInt32() : BodyEncoding.None;
        return encoding switch
        {
            BodyEncoding.None => null,
            BodyEncoding.Base64 when data is not null => Convert.FromBase64String(Encoding.ASCII.GetString(data)),
            BodyEncoding.Data => (plane ?? throw new FormatException("The page referred to the data plane, which this tab has not.")).Take(number),
            _ => data,
        };
    }

    private static void SkipToEndOfArray(ref Utf8JsonReader reader)
    {
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            reader.Skip();
        }
    }
}
