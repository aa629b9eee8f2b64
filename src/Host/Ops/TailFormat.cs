using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using LeanProxy.Engine.Metrics;

namespace LeanProxy.Host.Ops;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(TailLine))]
internal sealed partial class TailJsonContext : JsonSerializerContext;

/// <summary>Live-log lines as JSON (between nodes, and for <c>tail --format json</c>) and as text for people.</summary>
internal static class TailFormat
{
    public static string Json(TailLine line) => JsonSerializer.Serialize(line, TailJsonContext.Default.TailLine);

    public static TailLine? Parse(string json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, TailJsonContext.Default.TailLine);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A line dropped-notice: the reader fell behind by <paramref name="count"/> lines.</summary>
    public static TailLine Dropped(string app, long count) =>
        new(DateTimeOffset.UtcNow, app, "dropped", -1, $"{count} line(s) dropped: the reader fell behind");

    /// <summary>One server-sent event carrying the line's JSON.</summary>
    public static byte[] Event(string json) => Encoding.UTF8.GetBytes("data: " + json + "\n\n");

    public static string Text(TailLine line)
    {
        var text = new StringBuilder();
        text.Append(line.At.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture)).Append(' ').Append(line.Node).Append(' ').Append(line.App);
        if (line.Tab >= 0)
        {
            text.Append(" tab ").Append(line.Tab.ToString(CultureInfo.InvariantCulture));
        }

        text.Append("  ");
        if (line.Kind == "subrequest")
        {
            text.Append("→ ").Append(line.Method).Append(' ').Append(line.Path).Append(' ')
                .Append(line.Status == 0 ? "failed" : line.Status.ToString(CultureInfo.InvariantCulture))
                .Append(' ').Append(line.Milliseconds.ToString("0.0", CultureInfo.InvariantCulture)).Append(" ms");
        }
        else if (line.Kind == "request")
        {
            text.Append(line.Method).Append(' ').Append(line.Path).Append(' ').Append(line.Status.ToString(CultureInfo.InvariantCulture))
                .Append(' ').Append(line.Milliseconds.ToString("0.0", CultureInfo.InvariantCulture)).Append(" ms");
        }
        else
        {
            text.Append(line.Kind).Append(": ").Append(line.Text);
        }

        return text.ToString();
    }
}
