using System.Text.Json;

namespace LeanProxy.Cdp;

/// <summary>
/// The envelope of one CDP frame, found in a single <see cref="Utf8JsonReader"/> pass without allocating:
/// <c>id</c>, <c>method</c>, <c>sessionId</c>, and where <c>result</c>, <c>params</c> and <c>error</c> lie.
/// Offsets index into the frame that was scanned.
/// </summary>
internal struct CdpEnvelope
{
    public int Id;
    public int MethodStart;
    public int MethodLength;
    public int SessionStart;
    public int SessionLength;
    public int PayloadStart;
    public int PayloadLength;
    public bool HasError;
    public int ErrorCode;
    public int ErrorMessageStart;
    public int ErrorMessageLength;
    public bool ErrorMessageEscaped;

    public readonly ReadOnlySpan<byte> Result(ReadOnlySpan<byte> frame) => PayloadLength > 0 ? frame.Slice(PayloadStart, PayloadLength) : "{}"u8;

    public readonly ReadOnlySpan<byte> Params(ReadOnlySpan<byte> frame) => PayloadLength > 0 ? frame.Slice(PayloadStart, PayloadLength) : "{}"u8;

    public readonly string ErrorMessage(ReadOnlySpan<byte> frame)
    {
        if (ErrorMessageLength == 0)
        {
            return "unknown error";
        }

        var raw = frame.Slice(ErrorMessageStart, ErrorMessageLength);
        if (!ErrorMessageEscaped)
        {
            return System.Text.Encoding.UTF8.GetString(raw);
        }

        // Re-read the quoted token to unescape it. Invalid UTF-8 in it (found by fuzzing) cannot be unescaped: the raw
        // bytes then stand in, with replacement characters, rather than an exception on the receive loop.
        var reader = new Utf8JsonReader(frame.Slice(ErrorMessageStart - 1, ErrorMessageLength + 2));
        reader.Read();
        try
        {
            return reader.GetString() ?? "unknown error";
        }
        catch (InvalidOperationException)
        {
            return System.Text.Encoding.UTF8.GetString(raw);
        }
    }

    /// <summary>Scans a frame. Returns false for a frame that is not a JSON object (ignored).</summary>
    public static bool TryScan(ReadOnlySpan<byte> frame, out CdpEnvelope envelope)
    {
        envelope = default;
        envelope.Id = -1;
        var reader = new Utf8JsonReader(frame, new JsonReaderOptions { MaxDepth = 256 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("id"u8))
            {
                reader.Read();
                envelope.Id = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var id) ? id : -1;
            }
            else if (reader.ValueTextEquals("method"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped)
                {
                    envelope.MethodStart = (int)reader.TokenStartIndex + 1;
                    envelope.MethodLength = reader.ValueSpan.Length;
                }
            }
            else if (reader.ValueTextEquals("sessionId"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped)
                {
                    envelope.SessionStart = (int)reader.TokenStartIndex + 1;
                    envelope.SessionLength = reader.ValueSpan.Length;
                }
            }
            else if (reader.ValueTextEquals("result"u8) || reader.ValueTextEquals("params"u8))
            {
                reader.Read();
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                envelope.PayloadStart = start;
                envelope.PayloadLength = (int)reader.BytesConsumed - start;
            }
            else if (reader.ValueTextEquals("error"u8))
            {
                reader.Read();
                envelope.HasError = true;
                ScanError(ref reader, ref envelope);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return true;
    }

    private static void ScanError(ref Utf8JsonReader reader, ref CdpEnvelope envelope)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return;
        }

        var depth = reader.CurrentDepth;
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }

            if (reader.ValueTextEquals("code"u8))
            {
                reader.Read();
                envelope.ErrorCode = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var code) ? code : 0;
            }
            else if (reader.ValueTextEquals("message"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    envelope.ErrorMessageStart = (int)reader.TokenStartIndex + 1;
                    envelope.ErrorMessageLength = reader.ValueSpan.Length;
                    envelope.ErrorMessageEscaped = reader.ValueIsEscaped;
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }
}
