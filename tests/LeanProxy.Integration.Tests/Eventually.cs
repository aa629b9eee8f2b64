namespace LeanProxy.Integration.Tests;

/// <summary>For what the contract says happens "within about a second": read until the expected value, within a bound.</summary>
internal static class Eventually
{
    /// <summary>The last value read: <paramref name="expected"/>, or what there was when <paramref name="within"/> ran out.</summary>
    public static async Task<string> ReadAsync(Func<Task<string>> read, string expected, TimeSpan within, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + within;
        string last;
        while ((last = await read()) != expected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50, cancellationToken);
        }

        return last;
    }
}
