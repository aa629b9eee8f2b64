namespace LeanProxy.Engine;

/// <summary>Configuration of the engine for one app.</summary>
public sealed class EngineOptions
{
    /// <summary>The app: an entry module file, or a folder whose index.js / index.mjs is the entry.</summary>
    public required string AppPath { get; init; }

    /// <summary>Tabs in the pool (default: one per core).</summary>
    public int Tabs { get; init; } = Environment.ProcessorCount;

    /// <summary>Per-request deadline; on expiry the client gets 504.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Values handed to the handler as <c>env</c>.</summary>
    public IReadOnlyDictionary<string, string> Variables { get; init; } = new Dictionary<string, string>();

    /// <summary>Chromium binary; null to locate one.</summary>
    public string? ChromePath { get; init; }

    /// <summary>Attach to this browser (http://HOST:PORT or ws://…) instead of launching one.</summary>
    public Uri? BrowserUrl { get; init; }

    /// <summary>Where the temporary Chromium profile goes; null for the system temp directory.</summary>
    public string? TempDirectory { get; init; }

    /// <summary>Requests waiting for a tab, at most; beyond this new ones get 503.</summary>
    public int QueueLimit { get; init; } = 4096;

    /// <summary>How long loading the app in a tab may take.</summary>
    public TimeSpan LoadTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Exports the app must have (e.g. "fetch" when an HTTP listener is configured).</summary>
    public IReadOnlyList<string> RequiredExports { get; init; } = ["fetch"];

    /// <summary>Keep one extra tab loaded, ready to replace a tab that crashes.</summary>
    public bool WarmSpare { get; init; } = true;

    /// <summary>Extra Chromium switches.</summary>
    public IReadOnlyList<string> ChromeArguments { get; init; } = [];
}
