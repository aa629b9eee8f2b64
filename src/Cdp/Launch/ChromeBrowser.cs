using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Serialization;
using LeanProxy.Cdp.Protocol;
using LeanProxy.Cdp.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LeanProxy.Cdp.Launch;

/// <summary>
/// A browser we talk to: either launched by us (we own its process tree and temporary profile) or attached to over
/// WebSocket (we own neither). Disposing closes it the polite way, then the hard way, and removes the profile.
/// </summary>
public sealed partial class ChromeBrowser : IAsyncDisposable
{
    private readonly Process? _process;
    private readonly string? _directory;
    private readonly ILogger _logger;
    private int _disposed;

    internal ChromeBrowser(CdpConnection connection, Process? process, string? directory, OutputTail? stderr, ILogger logger)
    {
        Connection = connection;
        _process = process;
        _directory = directory;
        Stderr = stderr ?? new OutputTail();
        _logger = logger;
    }

    public CdpConnection Connection { get; }

    public BrowserVersion? Version { get; internal set; }

    /// <summary>The browser process id when we launched it.</summary>
    public int? ProcessId => _process?.Id;

    /// <summary>The temporary directory (profile and fifos) when we launched it.</summary>
    public string? TempDirectory => _directory;

    public OutputTail Stderr { get; }

    /// <summary>Whether we launched (and so own) the browser.</summary>
    public bool IsOwned => _process is not null;

    /// <summary>
    /// Attaches to a browser started elsewhere: <c>http://HOST:PORT</c> (resolved through <c>/json/version</c>) or a
    /// <c>ws://…/devtools/browser/…</c> URL.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2000",
        Justification = "The connection owns its transport, the browser its connection; the catch disposes the browser.")]
    public static async Task<ChromeBrowser> AttachAsync(Uri browserUrl, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        loggerFactory ??= NullLoggerFactory.Instance;
        var webSocketUrl = browserUrl;
        if (browserUrl.Scheme is "http" or "https")
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            var version = await http.GetFromJsonAsync(new Uri(browserUrl, "/json/version"), VersionEndpointContext.Default.VersionEndpoint,
                cancellationToken).ConfigureAwait(false);
            if (version?.WebSocketDebuggerUrl is null)
            {
                throw new ChromeLaunchException($"{browserUrl}/json/version did not name a webSocketDebuggerUrl.");
            }

            webSocketUrl = new Uri(version.WebSocketDebuggerUrl);
        }
        else if (browserUrl.Scheme is not ("ws" or "wss"))
        {
            throw new ArgumentException($"--browser-url must be http://HOST:PORT or ws://…, not {browserUrl}", nameof(browserUrl));
        }

        var transport = await WebSocketTransport.ConnectAsync(webSocketUrl, cancellationToken).ConfigureAwait(false);
        var connection = new CdpConnection(transport, loggerFactory.CreateLogger("LeanProxy.Cdp"));
        connection.Start();
        var browser = new ChromeBrowser(connection, null, null, null, loggerFactory.CreateLogger("LeanProxy.Chromium"));
        try
        {
            browser.Version = await connection.SendAsync(CdpMethods.BrowserGetVersion, CdpJsonContext.Default.BrowserVersion,
                cancellationToken: cancellationToken).ConfigureAwait(false);
            return browser;
        }
        catch
        {
            // Not ours to close (it was started elsewhere): only the connection goes.
            await browser.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Closes the browser: Browser.close, a short wait, then SIGKILL of the whole tree; deletes the profile.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_process is null)
        {
            await Connection.DisposeAsync().ConfigureAwait(false);
            return;
        }

        if (!Connection.IsClosed && !_process.HasExited)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await Connection.SendAsync(CdpMethods.BrowserClose, cancellationToken: timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is CdpClosedException or CdpException or OperationCanceledException)
            {
                // Expected: the browser often drops the pipe before it answers Browser.close.
            }
        }

        await Connection.DisposeAsync().ConfigureAwait(false);
        try
        {
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(3)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            KillTree(_process);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(3)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        // Renderers and helpers normally die with the browser; make sure of it.
        KillTree(_process);
        _process.Dispose();
        if (_directory is not null)
        {
            ChromeLauncher.TryDelete(_directory, _logger);
        }
    }

    internal static void KillTree(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            // Already gone.
        }
    }

    internal sealed record VersionEndpoint([property: JsonPropertyName("webSocketDebuggerUrl")] string? WebSocketDebuggerUrl);

    [JsonSerializable(typeof(VersionEndpoint))]
    internal sealed partial class VersionEndpointContext : JsonSerializerContext;
}
