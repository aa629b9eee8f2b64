using System.Text;
using System.Text.Json;

namespace LeanProxy.Engine.Protocol;

/// <summary>The bytes of a [data, BodyEncoding] pair in a binding call the page made (KV, fetch), read as a JSON element.</summary>
internal static class PageData
{
    /// <summary>The bytes (empty for no data); those that went on the data plane are taken from <paramref name="plane"/>.</summary>
    public static byte[] Bytes(JsonElement data, JsonElement encoding, DataPlane.TabDataPlane? plane) =>
        (BodyEncoding)encoding.GetInt32() switch
        {
            BodyEncoding.None => [],
            BodyEncoding.Base64 => data.GetBytesFromBase64(),
            BodyEncoding.Data => (plane ?? throw new FormatException("The page referred to the data plane, which this tab has not.")).Take(data.GetInt64()),
            _ => Encoding.UTF8.GetBytes(data.GetString() ?? string.Empty),
        };
}
