namespace LeanProxy.Cdp.Launch;

/// <summary>How to start Chromium.</summary>
public sealed class ChromeLaunchOptions
{
    /// <summary>The binary; null to locate one (see <see cref="ChromeLocator"/>).</summary>
    public string? ExecutablePath { get; set; }

    /// <summary>Where the temporary profile goes (a fresh directory is made inside); null for the system temp dir.</summary>
    public string? TempDirectory { get; set; }

    /// <summary>More switches, appended after the lean set.</summary>
    public List<string> ExtraArguments { get; } = [];

    /// <summary>How long to wait for Chromium to answer its first command.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(30);

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
        "--js-flags=--expose-gc",
        "--use-mock-keychain",
        "--disable-features=SpareRendererForSitePerProcess,WebUIOmniboxPopup,WebUIOmniboxAimPopup,Translate,MediaRouter,OptimizationHints,InterestFeedContentSuggestions,CalculateNativeWinOcclusion,AutofillServerCommunication,CertificateTransparencyComponentUpdater",
    ];
}
