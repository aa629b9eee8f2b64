namespace LeanProxy.Cdp.Launch;

/// <summary>How to start Chromium.</summary>
public sealed class ChromeLaunchOptions
{
    /// <summary>The binary; null to locate one (see <see cref="ChromeLocator"/>).</summary>
    public string? ExecutablePath { get; set; }

    /// <summary>Where the temporary profile goes (a fresh directory is made inside); null for the system temp dir.</summary>
    public string? TempDirectory { get; set; }

    /// <summary>More switches, appended after the lean set.</summary>
    public IList<string> ExtraArguments { get; } = new List<string>();

    /// <summary>How long to wait for Chromium to answer its first command.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The switch that passes flags to V8; an extra one adds to <see cref="JsFlags"/> (Chromium would keep
    /// only the last), as an extra <c>--disable-features</c> adds to the lean set's.</summary>
    public const string JsFlagsSwitch = "--js-flags=";

    /// <summary>
    /// V8's flags in every renderer: <c>gc()</c> for the runtime's collections between batches, and no compilation cache.
    /// Every batch is a script of its own (<c>Runtime.evaluate</c>), and V8's cache kept each one — its source and bytecode,
    /// ~200 bytes per request — through every ordinary collection until memory ran short: a tab's renderer grew by
    /// ~300 MB a minute at 22,000 requests/s (docs/PERFORMANCE.md, "A renderer that grew without bound").
    /// </summary>
    public const string JsFlags = "--expose-gc --no-compilation-cache";

    /// <summary>
    /// The lean switch set (docs/ARCHITECTURE.md, "The browser"): headless, no GPU, none of the background services that would try
    /// the closed network, no spare or omnibox renderers, and no throttling of tabs we drive.
    /// </summary>
    public static IReadOnlyList<string> LeanSwitches { get; } =
    [
        "--headless=new",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--disable-breakpad",
        "--disable-crash-reporter",
        "--disable-extensions",
        "--disable-default-apps",
        "--disable-domain-reliability",
        "--disable-client-side-phishing-detection",
        "--disable-hang-monitor",
        "--disable-popup-blocking",
        "--disable-prompt-on-repost",
        "--disable-renderer-backgrounding",
        "--disable-background-timer-throttling",
        "--disable-backgrounding-occluded-windows",
        "--disable-ipc-flooding-protection",
        "--metrics-recording-only",
        "--mute-audio",
        "--password-store=basic",
        "--no-startup-window",
        JsFlagsSwitch + JsFlags,
        "--use-mock-keychain",
        "--disable-features=SpareRendererForSitePerProcess,WebUIOmniboxPopup,WebUIOmniboxAimPopup,Translate,MediaRouter,OptimizationHints," +
            "InterestFeedContentSuggestions,CalculateNativeWinOcclusion,AutofillServerCommunication,CertificateTransparencyComponentUpdater",
    ];
}
