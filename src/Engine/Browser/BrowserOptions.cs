namespace LeanProxy.Engine.Browser;

/// <summary>Which browser serves the apps: launched (the default) or attached. Each default is written here and nowhere else.</summary>
public sealed record BrowserOptions
{
    /// <summary>Chromium binary; null to locate one.</summary>
    public string? ChromePath { get; init; }

    /// <summary>Attach to this browser (http://HOST:PORT or ws://…) instead of launching one.</summary>
    public Uri? BrowserUrl { get; init; }

    /// <summary>Where the temporary Chromium profile goes; null for the system temp directory.</summary>
    public string? TempDirectory { get; init; }

    /// <summary>Extra Chromium switches.</summary>
    public IReadOnlyList<string> ChromeArguments { get; init; } = [];

    /// <summary>Relaunch attempts after the browser died, before the node gives up.</summary>
    public int RelaunchAttempts { get; init; } = 5;
}
