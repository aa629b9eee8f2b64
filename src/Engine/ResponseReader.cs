using System.Text;
using System.Text.Json;
using LeanProxy.Listener;

namespace LeanProxy.Engine;

/// <summary>
/// Reads response items (see Runtime/runtime.js) straight from the CDP JSON with one <see cref="Utf8JsonReader"/>
/// pass, building each <see cref="ProxyResponse"/> without an intermediate object model.
/// </summary>
internal static class ResponseReader
{
    /// <summary>Reads the result of <c>Runtime.evaluate(__lp.d(...), returnByValue)</c>.</summary>
    public static BatchResult ReadEvaluateResult(ReadOnlySpan<byte> json)
    {
        var result = new BatchResult();
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

    /// <summary>Reads the payload of a <c>__lpDone</c> binding call (a JSON array as a string).</summary>
    public static void ReadItems(ReadOnlySpan<byte> itemsJson, List<ResponseItem> items)
    {
        var reader = new Utf8JsonReader(itemsJson);
        reader.Read();
        ReadItemArray(ref reader, items);
    }

    private static void ReadRemoteObject(ref Utf8JsonReader reader, BatchResult result)
    {
        var depth = reader.CurrentDepth;
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("value"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartArray)
                {
                    ReadItemArray(ref reader, result.Items);
                }
                else if (reader.TokenType == JsonTokenType.String)
                {
                    // The page returns its items as one JSON string (see runtime.js dispatch).
                    ReadItemString(ref reader, result.Items);
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

    private static void ReadItemString(ref Utf8JsonReader reader, List<ResponseItem> items)
    {
        if (reader.ValueSpan.IsEmpty)
        {
            return;
        }

        if (!reader.ValueIsEscaped)
        {
            ReadItems(reader.ValueSpan, items);
            return;
        }

        var length = reader.ValueSpan.Length;
        var rented = System.Buffers.ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var written = reader.CopyString(rented);
            ReadItems(rented.AsSpan(0, written), items);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static void ReadItemArray(ref Utf8JsonReader reader, List<ResponseItem> items)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.StartArray)
        {
            items.Add(ReadItem(ref reader));
        }
    }

    private static ResponseItem ReadItem(ref Utf8JsonReader reader)
    {
        reader.Read();
        var id = reader.GetInt32();
        reader.Read();
        var status = reader.GetInt32();
        switch (status)
        {
            case 0:
            {
                reader.Read();
                var kind = reader.GetString();
                reader.Read();
                var message = reader.GetString();
                reader.Read();
                var stack = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                SkipToEndOfArray(ref reader);
                return new ResponseItem(id, ResponseItemKind.Failed, ErrorKind: kind, ErrorMessage: message, ErrorStack: stack);
            }

            case -1:
            {
                reader.Read();
                var data = ReadBytes(ref reader, out _);
                SkipToEndOfArray(ref reader);
                return new ResponseItem(id, ResponseItemKind.Chunk, Data: data ?? []);
            }

            case -2:
                SkipToEndOfArray(ref reader);
                return new ResponseItem(id, ResponseItemKind.StreamEnd);

            case -3:
            {
                reader.Read();
                var message = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                SkipToEndOfArray(ref reader);
                return new ResponseItem(id, ResponseItemKind.StreamFailed, ErrorMessage: message);
            }

            case ResponseCodes.DatagramReply:
            {
                reader.Read();
                var data = ReadBytes(ref reader, out _);
                SkipToEndOfArray(ref reader);
                return data is null
                    ? new ResponseItem(id, ResponseItemKind.DatagramNoReply)
                    : new ResponseItem(id, ResponseItemKind.DatagramReply, Data: data);
            }

            case ResponseCodes.TcpWrite:
            {
                reader.Read();
                var data = ReadBytes(ref reader, out _);
                SkipToEndOfArray(ref reader);
                return new ResponseItem(id, ResponseItemKind.TcpWrite, Data: data ?? []);
            }

            case ResponseCodes.TcpAck:
            {
                reader.Read();
                var count = reader.TokenType == JsonTokenType.Number ? reader.GetInt64() : 0;
                SkipToEndOfArray(ref reader);
                return new ResponseItem(id, ResponseItemKind.TcpAck, Count: count);
            }

            case ResponseCodes.TcpShutdownWrite:
                SkipToEndOfArray(ref reader);
                return new ResponseItem(id, ResponseItemKind.TcpShutdownWrite);

            case ResponseCodes.TcpClose:
                SkipToEndOfArray(ref reader);
                return new ResponseItem(id, ResponseItemKind.TcpClose);

            case ResponseCodes.TcpError:
            {
                reader.Read();
                var message = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                reader.Read();
                var stack = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                SkipToEndOfArray(ref reader);
                return new ResponseItem(id, ResponseItemKind.TcpError, ErrorMessage: message, ErrorStack: stack);
            }
        }

        var response = new ProxyResponse(status);
        reader.Read();
        var statusText = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
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

        reader.Read();
        var body = ReadBytes(ref reader, out var encoding);
        if (body is not null)
        {
            response.Body = body;
        }

        SkipToEndOfArray(ref reader);
        return new ResponseItem(id, encoding == 3 ? ResponseItemKind.StreamStart : ResponseItemKind.Response, response);
    }

    /// <summary>Reads a [data, encoding] pair (text, base64 or null) as bytes; leaves the reader on the encoding.</summary>
    private static byte[]? ReadBytes(ref Utf8JsonReader reader, out int encoding)
    {
        byte[]? data = null;
        if (reader.TokenType == JsonTokenType.String)
        {
            data = reader.ValueIsEscaped ? Encoding.UTF8.GetBytes(reader.GetString()!) : reader.ValueSpan.ToArray();
        }

        reader.Read();
        encoding = reader.TokenType == JsonTokenType.Number ? reader.GetInt32() : 0;
        if (encoding == 2 && data is not null)
        {
            data = Convert.FromBase64String(Encoding.ASCII.GetString(data));
        }

        return data;
    }

    private static void SkipToEndOfArray(ref Utf8JsonReader reader)
    {
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            reader.Skip();
        }
    }
}
