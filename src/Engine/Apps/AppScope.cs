using LeanProxy.Engine.Pages;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Engine.Apps;

/// <summary>
/// What a tab of an app version needs to know about its app, handed to it explicitly: names, options, the bindings
/// the page may call, how to open a page, and the clock every deadline is measured on.
/// </summary>
internal sealed class AppScope
{
    public required string Name { get; init; }

    public required AppBundle Bundle { get; init; }

    public required AppOptions Options { get; init; }

    public required ILogger Logger { get; init; }

    /// <summary>Page → host calls by binding name (<see cref="PageBindings"/>).</summary>
    public required PageBindings Bindings { get; init; }

    /// <summary>The app version's subrequests (the handler's fetch to other servers); null in tests without them.</summary>
    public Fetch.FetchBinding? Subrequests { get; init; }

    /// <summary>Opens the app's tabs (a real browser's, or a scripted fake in tests).</summary>
    public required IPageFactory Pages { get; init; }

    /// <summary>Milliseconds on a monotonic clock (Environment.TickCount64; a test's own clock).</summary>
    public Func<long> Clock { get; init; } = static () => Environment.TickCount64;

    /// <summary>The app's counts (shared by its versions; see Metrics/AppStats).</summary>
    public Metrics.AppStats Stats => field ??= Metrics.AppStats.For(Name);

    /// <summary>How much of the app's console reaches the log (every tab of this version together).</summary>
    public ConsoleBudget Console => field ??= new ConsoleBudget(Clock);

    public long Now => Clock();

    /// <summary>The deadline of a call that starts now.</summary>
    public long DeadlineFromNow() => Now + (long)Options.RequestTimeout.TotalMilliseconds;
}
