using System.Globalization;

namespace LeanProxy.Integration.Tests;

/// <summary>Reads one series of a Prometheus text exposition (<c>/metrics</c>).</summary>
internal static class PrometheusText
{
    /// <summary>The value of <paramref name="series"/> (name and labels exactly as exposed), or null when it is not there.</summary>
    public static double? Read(string metrics, string series)
    {
        foreach (var line in metrics.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
            {
                return double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return null;
    }
}
